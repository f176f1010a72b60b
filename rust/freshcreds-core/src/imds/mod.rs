//! The EC2 instance metadata service (IMDSv2).
//!
//! * [`client`]: the HTTP client. It sends every request with the session token [`token`]
//!   keeps; retries timeouts, refused connections, 5xx and 429 with exponential backoff and full
//!   jitter within the attempt budget, in one retry loop for metadata GETs and token PUTs alike (a
//!   401 to the token PUT included: every retry counts); never goes through an HTTP proxy (the
//!   metadata address must not be proxied) and never follows a redirect (that would hand the
//!   session token to another host); accepts only `http://` endpoints; and reads at most 64 KiB
//!   of any answer, into buffers that are zeroized.
//! * [`token`]: the session token: fetched with `PUT /latest/api/token` (through the client's
//!   retry loop), kept, and renewed shortly before its TTL runs out (the Java SDKs fetch a token
//!   per request).
//! * [`credentials`]: the instance-role credentials source built on the client.

pub mod client;
pub mod credentials;
pub mod token;

pub use client::{ImdsClient, ImdsClientBuilder};
pub use credentials::{ImdsCredentialsProvider, ImdsCredentialsProviderBuilder};
