//! The EC2 instance metadata service (IMDSv2).
//!
//! * [`client`]: the HTTP client. It fetches a session token with `PUT /latest/api/token`, keeps
//!   it and renews it shortly before its TTL runs out (the Java SDKs fetch a token per request);
//!   retries timeouts, refused connections, 5xx and 429 with exponential backoff and full jitter
//!   within the attempt budget (a 401 to the token PUT included: every retry counts); never goes
//!   through an HTTP proxy (the metadata address must not be proxied) and never follows a
//!   redirect (that would hand the session token to another host); accepts only `http://`
//!   endpoints; and reads at most 64 KiB of any answer, into buffers that are zeroized.
//! * [`credentials`]: the instance-role credentials source built on it.

pub mod client;
pub mod credentials;

pub use client::{ImdsClient, ImdsClientBuilder};
pub use credentials::{ImdsCredentialsProvider, ImdsCredentialsProviderBuilder};
