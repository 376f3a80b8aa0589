#!/usr/bin/env python3
"""One server of a proxy herd, in the style of the UCLA CS 131 project:
asyncio, one TCP port per server for clients and neighbours alike, and one
connection per flooded message. herd-sim's tests grade it from outside
(`herd-sim run --external 'python3 tests/python_herd/server.py {name}
{config} {places}' scenarios/conformance`).

    server.py NAME [CONFIG [PLACES_URL]] [--bug stale-overwrite|no-relay]

CONFIG is a herd TOML in the herd project's format (read with tomllib,
Python 3.11+): this server's port, its neighbours' addresses, the links.
Without it, the server uses the course's hard-coded table (DEFAULT_HERD),
as most course herds do. PLACES_URL is a Places (legacy Nearby Search) base
URL, by default $HERD_SIM_PLACES_URL; without either, every WHATSAT gets an
empty answer.

Between servers, on a fresh connection each:
    FLOOD <sender> AT <origin> <skew> <client> <location> <time>  ->  OK
    HELLO <sender>   ->  DUMP AT ... (one line per client)  then  END
    PING <sender>    ->  PONG
A server answers OK once the update is stored and its own forwards are
acknowledged (or FORWARD_WAIT passed), and a client's AT reply waits the
same way, so an acknowledged update is readable everywhere reachable. A
neighbour that does not acknowledge is pinged until it answers, then sent
what it missed; a server that starts asks its neighbours for everything
(HELLO). Newest client time wins, ties broken as docs/protocol.md says.

--bug switches on one defect that real course herds often have:
  stale-overwrite  no newest-wins check: whatever arrives last is kept
  no-relay         updates learned from a neighbour are never forwarded
"""

import argparse
import asyncio
import json
import os
import re
import sys
import time
import tomllib
from decimal import Decimal
from urllib.parse import urlsplit

ACK_TIMEOUT = 1.5     # a neighbour's OK, in seconds
FORWARD_WAIT = 0.5    # how long an OK or AT reply waits for forwards
PING_TIMEOUT = 0.5
RETRY_EVERY = 0.3     # between pings of a neighbour that missed updates
PLACES_TIMEOUT = 5.0

# The course's five servers, their ports and links, in CONFIG's shape.
DEFAULT_HERD = {
    "server": [{"name": n, "port": 12000 + i}
               for i, n in enumerate(["Goloman", "Hands", "Holiday", "Welsh", "Wilkes"])],
    "links": [["Goloman", "Hands"], ["Goloman", "Holiday"], ["Goloman", "Wilkes"],
              ["Hands", "Wilkes"], ["Holiday", "Welsh"], ["Holiday", "Wilkes"]],
}

LOCATION = re.compile(rb"^([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)$")
TIME = re.compile(rb"^(\d+)(?:\.(\d{1,9}))?$")
RADIUS = re.compile(rb"^\d+(?:\.\d+)?$")
BOUND = re.compile(rb"^\d+$")


def log(*parts):
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


def time_ns(text):
    m = TIME.match(text)
    if not m:
        return None
    frac = (m.group(2) or b"").decode().ljust(9, "0")
    return int(m.group(1)) * 1_000_000_000 + int(frac)


def skew_text(ns):
    sign = "-" if ns < 0 else "+"
    return f"{sign}{abs(ns) // 1_000_000_000}.{abs(ns) % 1_000_000_000:09d}"


def skew_ns(text):
    if text[:1] not in ("+", "-"):
        return None
    whole = time_ns(text[1:].encode())
    return None if whole is None else (-whole if text[0] == "-" else whole)


class Update:
    """A client's location as this server received it, or as its origin did."""

    def __init__(self, origin, skew, client, location, time_text):
        self.origin, self.skew, self.client = origin, skew, client
        self.location, self.time = location, time_text
        self.key = (time_ns(time_text.encode()), origin, skew_ns(skew), location, time_text)

    def at_line(self):
        return f"AT {self.origin} {self.skew} {self.client} {self.location} {self.time}"

    @staticmethod
    def parse(fields):
        """From the fields of an AT line; None if they are not one."""
        if len(fields) != 6 or fields[0] != "AT":
            return None
        u = Update(*fields[1:])
        return u if None not in (u.key[0], u.key[2]) else None

    def __eq__(self, other):
        return isinstance(other, Update) and self.key == other.key


class Server:
    def __init__(self, name, config, places, bug):
        self.name, self.places, self.bug = name, places, bug
        servers = {s["name"]: s for s in config["server"]}
        self.port = servers[name]["port"]
        self.neighbours = {}
        for a, b in config.get("links", []):
            if name in (a, b):
                other = servers[b if a == name else a]
                self.neighbours[other["name"]] = (other.get("host", "127.0.0.1"), other["port"])
        self.store = {}
        self.missed = {n: {} for n in self.neighbours}
        self.retrying = set()
        # asyncio keeps only weak references to tasks: these keep floods
        # that outlive the wait for them from being collected mid-way.
        self.tasks = set()

    def background(self, coroutine):
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    # --- the store and flooding -------------------------------------------

    async def take(self, update, sender):
        """Stores `update` if it is news, and floods it; `sender` is the
        neighbour it came from (None for a client of ours)."""
        held = self.store.get(update.client)
        if self.bug == "stale-overwrite":
            news = held != update
        else:
            news = held is None or update.key > held.key
        if not news:
            return
        self.store[update.client] = update
        log("stored", update.at_line(), "from", sender or "a client")
        if sender is not None and self.bug == "no-relay":
            return
        targets = [n for n in self.neighbours if n != sender]
        sends = [self.background(self.send(n, update)) for n in targets]
        if sends:
            await asyncio.wait(sends, timeout=FORWARD_WAIT)

    async def exchange(self, neighbour, line, timeout):
        """Sends one line on a fresh connection; the first reply line."""
        host, port = self.neighbours[neighbour]
        writer = None
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
            writer.write(line.encode() + b"\n")
            await writer.drain()
            return (await asyncio.wait_for(reader.readline(), timeout)).strip()
        except (OSError, asyncio.TimeoutError):
            return None
        finally:
            if writer is not None:
                writer.close()

    async def send(self, neighbour, update):
        reply = await self.exchange(neighbour, f"FLOOD {self.name} {update.at_line()}", ACK_TIMEOUT)
        if reply == b"OK":
            return True
        log("no OK from", neighbour, "for", update.at_line(), "but", reply)
        missed = self.missed[neighbour]
        if update.client not in missed or update.key > missed[update.client].key:
            missed[update.client] = update
        if neighbour not in self.retrying:
            self.retrying.add(neighbour)
            self.background(self.catch_up(neighbour))
        return False

    async def catch_up(self, neighbour):
        """Pings a neighbour that missed updates until it answers, then
        sends it what it missed."""
        try:
            while self.missed[neighbour]:
                await asyncio.sleep(RETRY_EVERY)
                if await self.exchange(neighbour, f"PING {self.name}", PING_TIMEOUT) != b"PONG":
                    continue
                log("catching up", neighbour, "on", len(self.missed[neighbour]), "updates")
                for client, update in list(self.missed[neighbour].items()):
                    reply = await self.exchange(neighbour, f"FLOOD {self.name} {update.at_line()}", ACK_TIMEOUT)
                    if reply != b"OK":
                        break
                    if self.missed[neighbour].get(client) is update:
                        del self.missed[neighbour][client]
        finally:
            self.retrying.discard(neighbour)

    async def hello(self, neighbour):
        """Asks a neighbour for everything it holds (after a restart)."""
        host, port = self.neighbours[neighbour]
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), PING_TIMEOUT)
        except (OSError, asyncio.TimeoutError):
            return
        try:
            writer.write(f"HELLO {self.name}\n".encode())
            while True:
                line = await asyncio.wait_for(reader.readline(), ACK_TIMEOUT)
                fields = line.decode().split()
                if fields[:1] != ["DUMP"]:
                    break
                update = Update.parse(fields[1:])
                held = update and self.store.get(update.client)
                if update and (held is None or update.key > held.key):
                    self.store[update.client] = update
        except (OSError, asyncio.TimeoutError, UnicodeDecodeError):
            pass
        finally:
            writer.close()

    # --- clients and neighbours on the one port --------------------------

    async def handle(self, reader, writer):
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                text = line[:-1] if line.endswith(b"\n") else line
                text = text[:-1] if text.endswith(b"\r") else text
                for reply in await self.answer(text):
                    writer.write(reply)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()

    async def answer(self, line):
        """The reply lines to one line."""
        fields = line.split()
        command = fields[0] if fields else b""
        # Only a neighbour, by name, may use the verbs between servers.
        if command in (b"FLOOD", b"HELLO", b"PING") and fields[1:2] not in ([n.encode()] for n in self.neighbours):
            command = b""
        try:
            if command == b"IAMAT" and len(fields) == 4:
                reply = await self.iamat(*fields[1:])
            elif command == b"WHATSAT" and len(fields) == 4:
                reply = await self.whatsat(*fields[1:])
            elif command == b"FLOOD" and len(fields) == 8:
                update = Update.parse([f.decode() for f in fields[2:]])
                reply = None
                if update:
                    await self.take(update, fields[1].decode())
                    reply = b"OK\n"
            elif command == b"HELLO" and len(fields) == 2:
                dump = [f"DUMP {u.at_line()}\n".encode() for u in list(self.store.values())]
                return dump + [b"END\n"]
            elif command == b"PING" and len(fields) == 2:
                reply = b"PONG\n"
            else:
                reply = None
        except UnicodeDecodeError:
            reply = None
        return [reply if reply is not None else b"? " + line + b"\n"]

    async def iamat(self, client, location, when):
        now = time.time_ns()
        m = LOCATION.match(location)
        client_ns = time_ns(when)
        if not m or client_ns is None:
            return None
        lat, lon = Decimal(m.group(1).decode()), Decimal(m.group(2).decode())
        if abs(lat) > 90 or abs(lon) > 180:
            return None
        update = Update(self.name, skew_text(now - client_ns), client.decode(), location.decode(), when.decode())
        await self.take(update, None)
        return (update.at_line() + "\n").encode()

    async def whatsat(self, client, radius, bound):
        if not RADIUS.match(radius) or not BOUND.match(bound):
            return None
        radius_km, bound = Decimal(radius.decode()), int(bound)
        update = self.store.get(client.decode())
        if not (0 < radius_km <= 50) or not (1 <= bound <= 20) or update is None:
            return None
        answer = await self.nearby(update.location, radius_km * 1000)
        answer.pop("next_page_token", None)
        answer["results"] = answer.get("results", [])[:bound]
        text = re.sub(r"\n\n+", "\n", json.dumps(answer, indent=3)).rstrip("\n")
        return f"{update.at_line()}\n{text}\n\n".encode()

    async def nearby(self, location, radius_m):
        """The legacy Nearby Search answer, or an error in its shape."""
        if not self.places:
            return {"html_attributions": [], "results": [], "status": "ZERO_RESULTS"}
        m = LOCATION.match(location.encode())
        lat, lon = m.group(1).decode().lstrip("+"), m.group(2).decode().lstrip("+")
        url = urlsplit(self.places)
        path = url.path.rstrip("/") + "/maps/api/place/nearbysearch/json"
        metres = format(radius_m.normalize(), "f")
        query = f"location={lat},{lon}&radius={metres}&key=course-key"
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(url.hostname, url.port or 80), PLACES_TIMEOUT)
            writer.write(f"GET {path}?{query} HTTP/1.0\r\nHost: {url.netloc}\r\n\r\n".encode())
            body = await asyncio.wait_for(reader.read(), PLACES_TIMEOUT)
            writer.close()
            return json.loads(body.split(b"\r\n\r\n", 1)[1])
        except (OSError, asyncio.TimeoutError, ValueError, IndexError) as e:
            return {"html_attributions": [], "results": [], "status": "UNKNOWN_ERROR",
                    "error_message": f"Places failed: {type(e).__name__}"}

    async def run(self):
        server = await asyncio.start_server(self.handle, "127.0.0.1", self.port)
        log(self.name, "listening on", self.port, "neighbours", self.neighbours)
        await asyncio.gather(*(self.hello(n) for n in self.neighbours))
        async with server:
            await server.serve_forever()


def main():
    parser = argparse.ArgumentParser(description="one server of a proxy herd")
    parser.add_argument("name")
    parser.add_argument("config", nargs="?")
    parser.add_argument("places", nargs="?", default=os.environ.get("HERD_SIM_PLACES_URL", ""))
    parser.add_argument("--bug", choices=["stale-overwrite", "no-relay"])
    args = parser.parse_args()
    config = DEFAULT_HERD
    if args.config:
        with open(args.config, "rb") as f:
            config = tomllib.load(f)
    asyncio.run(Server(args.name, config, args.places, args.bug).run())


if __name__ == "__main__":
    main()
