//! Deserializing string-encoded values (durations, listen addresses) so a
//! parse failure is raised while the deserializer still knows the field's
//! path, and error messages read `bgp.peerGroups[0].holdTime: ...`.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use serde::{de, Deserializer};

/// Deserializes a string with `T::from_str`; `expecting` describes the
/// accepted form for type errors.
pub(crate) fn deserialize_from_str<'de, D, T>(
    deserializer: D,
    expecting: &'static str,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: fmt::Display,
{
    struct Visitor<T>(&'static str, PhantomData<T>);
    impl<T> de::Visitor<'_> for Visitor<T>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            v.parse().map_err(E::custom)
        }
    }
    deserializer.deserialize_str(Visitor(expecting, PhantomData))
}
