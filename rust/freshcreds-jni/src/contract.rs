//! The JNI contract in one table: [`native_agent!`] defines every native method of
//! `dev.freshcreds.NativeAgent` and, from the same definitions, [`NATIVE_METHODS`] —
//! each method's Java name, exported symbol and JNI signature. The signature is derived from the
//! Rust parameter and return types ([`JavaType`]), so the table cannot drift from the exports;
//! `tests/native_contract.rs` compares it with the `native` declarations of `NativeAgent.java`
//! (and DEVELOPERS.md), so neither can the Java side.
//!
//! [`NATIVE_METHODS`]: crate::natives::NATIVE_METHODS

use jni::objects::{JObject, JObjectArray, JString};
use jni::sys::{jboolean, jdouble, jint, jlong};

/// The class whose `static native` methods the library implements.
pub const JAVA_CLASS: &str = "dev.freshcreds.NativeAgent";

/// The JNI short-name prefix of its methods' symbols (a method name with no `_`, `;`, `[` or
/// non-ASCII character is used as is, which the table test checks).
pub const SYMBOL_PREFIX: &str = "Java_dev_freshcreds_NativeAgent_";

/// One native method: what the JVM looks up and what it must find.
#[derive(Debug, Clone, Copy)]
pub struct NativeMethod {
    /// The Java method name.
    pub name: &'static str,
    /// The exported symbol, [`SYMBOL_PREFIX`] + `name`.
    pub symbol: &'static str,
    /// The JNI signature derived from the Rust types, e.g. `(JJJ)Ldev/freshcreds/CredentialsSnapshot;`.
    pub signature: fn() -> String,
}

/// A Rust type at the JNI boundary and the JNI type descriptor of the Java type it carries.
pub trait JavaType {
    const DESCRIPTOR: &'static str;
}

impl JavaType for () {
    const DESCRIPTOR: &'static str = "V";
}

impl JavaType for jlong {
    const DESCRIPTOR: &'static str = "J";
}

impl JavaType for jint {
    const DESCRIPTOR: &'static str = "I";
}

impl JavaType for jboolean {
    const DESCRIPTOR: &'static str = "Z";
}

impl JavaType for jdouble {
    const DESCRIPTOR: &'static str = "D";
}

impl JavaType for JObject<'_> {
    const DESCRIPTOR: &'static str = "Ljava/lang/Object;";
}

impl JavaType for JString<'_> {
    const DESCRIPTOR: &'static str = "Ljava/lang/String;";
}

impl JavaType for JObjectArray<'_, JString<'_>> {
    const DESCRIPTOR: &'static str = "[Ljava/lang/String;";
}

/// `(params)ret`.
pub fn signature(params: &[&str], ret: &str) -> String {
    format!("({}){ret}", params.concat())
}

/// Defines the native methods of [`JAVA_CLASS`] and their table, `NATIVE_METHODS`:
///
/// ```text
/// native_agent! {
///     /// Documentation.
///     "javaName" => fn rust_name<'caller>(env, handle: jlong) -> JString<'caller> { body }
/// }
/// ```
///
/// Each becomes `extern "system" fn rust_name(EnvUnowned, JClass, handle: jlong) -> JString`,
/// exported as `Java_dev_freshcreds_NativeAgent_javaName`, whose body runs inside
/// [`entry`](crate::entry::entry) with `env: &mut Env` and returns `Result<_, BridgeError>`.
/// A method is only ever exported through this macro, which `tests/native_contract.rs` checks.
macro_rules! native_agent {
    ($(
        $(#[doc = $doc:literal])*
        $java:literal => fn $rust:ident<$lt:lifetime>($env:ident $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty $body:block
    )*) => {
        $(
            $(#[doc = $doc])*
            #[doc = concat!("\n\nThe native method `", $java, "` of `dev.freshcreds.NativeAgent`.")]
            #[unsafe(export_name = concat!("Java_dev_freshcreds_NativeAgent_", $java))]
            pub extern "system" fn $rust<$lt>(
                mut unowned: ::jni::EnvUnowned<$lt>,
                _class: ::jni::objects::JClass<$lt>,
                $($arg: $ty),*
            ) -> $ret {
                $crate::entry::entry(&mut unowned, $java, |$env| $body)
            }
        )*

        /// Every native method defined above, in definition order.
        pub const NATIVE_METHODS: &[$crate::contract::NativeMethod] = &[$(
            $crate::contract::NativeMethod {
                name: $java,
                symbol: concat!("Java_dev_freshcreds_NativeAgent_", $java),
                signature: {
                    fn signature() -> String {
                        // The types name the caller's lifetime, so they are spelled inside a
                        // function generic over it.
                        fn of<$lt>(_: ::std::marker::PhantomData<&$lt ()>) -> String {
                            $crate::contract::signature(
                                &[$(<$ty as $crate::contract::JavaType>::DESCRIPTOR),*],
                                <$ret as $crate::contract::JavaType>::DESCRIPTOR,
                            )
                        }
                        of(::std::marker::PhantomData)
                    }
                    signature
                },
            }
        ),*];
    };
}

pub(crate) use native_agent;
