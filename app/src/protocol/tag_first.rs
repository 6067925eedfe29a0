//! Reading a message enum by its `type` field first.
//!
//! serde's derive reads an internally tagged enum (`{"type":"welcome", …}`) by first
//! copying the whole object into its own in-memory tree, wherever the tag is, and then
//! reading the variant out of that tree: a second reader for every type the message
//! holds. In the browser app that was the largest piece of code for reading server
//! messages. Parley's server always writes the tag first (after the `seq`), so
//! [`tag_first_enum!`] reads the tag and hands the rest of the object straight to the
//! variant's fields. Fields before the tag are passed over; a field the variant needs
//! that came before the tag is reported missing.

use serde::de::value::{EnumAccessDeserializer, MapAccessDeserializer};
use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, EnumAccess, IgnoredAny, MapAccess,
    VariantAccess, Visitor,
};
use std::fmt;
use std::marker::PhantomData;

/// Defines a message enum that is written internally tagged (`{"type":"pong"}`, with
/// variant names in snake case) and read tag first. Written like a plain enum, with the
/// tag field's name first:
///
/// ```text
/// tag_first_enum! {
///     tag = "type";
///     #[derive(Clone, Debug)]
///     pub enum Reply { Pong, Error { message: String } }
/// }
/// ```
///
/// Reading goes through a hidden, externally tagged copy of the enum (serde derives the
/// per-variant field readers for it) and [`deserialize`].
macro_rules! tag_first_enum {
    (
        tag = $tag:literal;
        $(#[$attr:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$variant_attr:meta])*
                $variant:ident $({
                    $( $(#[$field_attr:meta])* $field:ident : $field_ty:ty ),* $(,)?
                })?
            ),* $(,)?
        }
    ) => {
        $(#[$attr])*
        #[derive(serde::Serialize)]
        #[serde(tag = $tag, rename_all = "snake_case")]
        $vis enum $name {
            $(
                $(#[$variant_attr])*
                $variant $({ $( $(#[$field_attr])* $field : $field_ty ),* })?
            ),*
        }

        const _: () = {
            #[derive(serde::Deserialize)]
            #[serde(rename_all = "snake_case")]
            enum Variants {
                $(
                    $(#[$variant_attr])*
                    $variant $({ $( $(#[$field_attr])* $field : $field_ty ),* })?
                ),*
            }

            impl<'de> serde::Deserialize<'de> for $name {
                fn deserialize<D: serde::Deserializer<'de>>(
                    deserializer: D,
                ) -> Result<Self, D::Error> {
                    let variant = $crate::protocol::tag_first::deserialize::<D, Variants>(
                        deserializer,
                        $tag,
                    )?;
                    Ok(match variant {
                        $( Variants::$variant $({ $($field),* })? => $name::$variant $({ $($field),* })? ),*
                    })
                }
            }
        };
    };
}
pub(crate) use tag_first_enum;

/// Reads `T`, an externally tagged enum, from an object whose `tag` field names the
/// variant and whose other fields are the variant's.
pub fn deserialize<'de, D, T>(deserializer: D, tag: &'static str) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    deserializer.deserialize_map(TagFirst {
        tag,
        target: PhantomData,
    })
}

struct TagFirst<T> {
    tag: &'static str,
    target: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for TagFirst<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an object with a `{}` field", self.tag)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        while let Some(is_tag) = map.next_key_seed(IsKey(self.tag))? {
            if is_tag {
                return T::deserialize(EnumAccessDeserializer::new(TaggedFields(map)));
            }
            map.next_value::<IgnoredAny>()?;
        }
        Err(de::Error::missing_field(self.tag))
    }
}

/// Whether an object's key is the tag, read without copying it.
#[derive(Clone, Copy)]
struct IsKey(&'static str);

impl<'de> DeserializeSeed<'de> for IsKey {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for IsKey {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

/// An object whose next value is the tag: the tag names the variant, the fields
/// after it are the variant's content.
struct TaggedFields<A>(A);

impl<'de, A: MapAccess<'de>> EnumAccess<'de> for TaggedFields<A> {
    type Error = A::Error;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(
        mut self,
        seed: V,
    ) -> Result<(V::Value, Self), A::Error> {
        let variant = self.0.next_value_seed(seed)?;
        Ok((variant, self))
    }
}

impl<'de, A: MapAccess<'de>> VariantAccess<'de> for TaggedFields<A> {
    type Error = A::Error;

    fn unit_variant(mut self) -> Result<(), A::Error> {
        while self.0.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, A::Error> {
        seed.deserialize(MapAccessDeserializer::new(self.0))
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        _visitor: V,
    ) -> Result<V::Value, A::Error> {
        Err(de::Error::custom(
            "a tagged message has named fields, not a tuple",
        ))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        visitor.visit_map(self.0)
    }
}
