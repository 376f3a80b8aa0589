//! The names a scenario file may use, taken from the serde definitions
//! themselves so that they never drift from what the loader accepts, and
//! the "did you mean" for a name that is not one of them.

use std::fmt;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, EnumAccess, VariantAccess, Visitor};

/// How alike (Jaro-Winkler, 0 to 1) a name must be to be suggested: alike
/// enough for a typo or a missing suffix (`within` for `within_ms`). One
/// edit (`nwo` for `now`) is always close enough.
const CLOSE: f64 = 0.8;

/// The closest of `known` to `name`, if any is close enough: fewest edits
/// first, then the most alike.
pub fn closest<'a, I>(name: &str, known: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let name = name.to_lowercase();
    known
        .into_iter()
        .map(|k| {
            let k_lower = k.to_lowercase();
            let edits = strsim::osa_distance(&name, &k_lower);
            (edits, strsim::jaro_winkler(&name, &k_lower), k)
        })
        .filter(|(edits, alike, _)| *edits <= 1 || *alike >= CLOSE)
        .min_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)))
        .map(|(_, _, k)| k)
}

/// `; did you mean "x"?` when one of `known` is close to `name`, else "".
pub fn did_you_mean<'a, I>(name: &str, known: I) -> String
where
    I: IntoIterator<Item = &'a str>,
{
    closest(name, known).map_or(String::new(), |k| format!("; did you mean {k:?}?"))
}

/// The variant names of the enum `T` (as its files spell them).
pub fn variants<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    match T::deserialize(Probe { variant: None }) {
        Err(Probed::Names(names)) => names,
        _ => &[],
    }
}

/// The field names of the struct `T`, or of the struct variant `variant`
/// of the enum `T`.
pub fn fields<'de, T: Deserialize<'de>>(variant: Option<&'static str>) -> &'static [&'static str] {
    match T::deserialize(Probe { variant }) {
        Err(Probed::Names(names)) => names,
        _ => &[],
    }
}

/// A deserializer that answers nothing and only learns, from the calls
/// serde's derived code makes, the names the type expects.
struct Probe {
    /// The variant to open; `None` asks for the variant names.
    variant: Option<&'static str>,
}

#[derive(Debug)]
enum Probed {
    Names(&'static [&'static str]),
    Other,
}

impl fmt::Display for Probed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("probe")
    }
}

impl std::error::Error for Probed {}

impl de::Error for Probed {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Probed::Other
    }
}

impl<'de> Deserializer<'de> for Probe {
    type Error = Probed;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Probed> {
        Err(Probed::Other)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Probed> {
        Err(Probed::Names(fields))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Probed> {
        match self.variant {
            None => Err(Probed::Names(variants)),
            Some(variant) => visitor.visit_enum(OpenVariant(variant)),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map identifier ignored_any
    }
}

/// The one variant the probe opens.
struct OpenVariant(&'static str);

impl<'de> EnumAccess<'de> for OpenVariant {
    type Error = Probed;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), Probed> {
        let name = de::value::StrDeserializer::<Probed>::new(self.0);
        Ok((seed.deserialize(name)?, self))
    }
}

impl<'de> VariantAccess<'de> for OpenVariant {
    type Error = Probed;

    fn unit_variant(self) -> Result<(), Probed> {
        Err(Probed::Other)
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, _: S) -> Result<S::Value, Probed> {
        Err(Probed::Other)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, Probed> {
        Err(Probed::Other)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Probed> {
        Err(Probed::Names(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Action;

    #[test]
    fn names_come_from_the_serde_definitions() {
        let actions = variants::<Action>();
        assert!(actions.contains(&"client") && actions.contains(&"silent_death"));
        assert_eq!(
            fields::<Action>(Some("converged")),
            ["at_ms", "within_ms", "poll"]
        );
        assert_eq!(fields::<crate::world::Network>(None), ["latency_ms", "loss"]);
    }

    #[test]
    fn close_names_are_suggested_and_far_ones_are_not() {
        let known = ["at_ms", "within_ms", "poll"];
        assert_eq!(closest("within", known), Some("within_ms"));
        assert_eq!(closest("Poll", known), Some("poll"));
        assert_eq!(closest("colour", known), None);
        assert_eq!(
            closest("Golomon", ["Goloman", "Hands", "Holiday"]),
            Some("Goloman")
        );
        assert_eq!(closest("nwo", ["now", "n"]), Some("now"));
        assert_eq!(did_you_mean("zzz", known), "");
    }
}
