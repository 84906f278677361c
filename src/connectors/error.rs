//! The one error type every vendor maps its failures into.

use std::fmt;
use std::time::Duration;

/// What kind of failure a vendor reported, independent of the vendor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The account does not exist.
    NotFound,
    /// An account with this key already exists (a create becomes an adoption).
    AlreadyExists,
    /// The vendor, or the operator's own budget, throttled the request.
    RateLimited,
    /// The credentials were refused: terminal until the Secret changes.
    Credentials,
    /// The vendor refused the request as invalid or not allowed: terminal until the spec changes.
    Rejected,
    /// A network failure, timeout or server error: worth retrying.
    Transient,
}

impl ErrorKind {
    /// Lower-case label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not_found",
            ErrorKind::AlreadyExists => "already_exists",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Credentials => "credentials",
            ErrorKind::Rejected => "rejected",
            ErrorKind::Transient => "transient",
        }
    }

    /// Whether an error of this kind is worth retrying by default.
    pub fn retryable_by_default(self) -> bool {
        matches!(self, ErrorKind::RateLimited | ErrorKind::Transient)
    }
}

/// A classified vendor failure. Its text carries the vendor's code, message and request id, never a
/// credential or a request header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VendorError {
    /// The class of failure.
    pub kind: ErrorKind,
    /// Whether retrying the same request may succeed.
    pub retryable: bool,
    /// The vendor's own error code, e.g. `FailedOperation.DuplicatedAccount`.
    pub code: Option<String>,
    /// The vendor's message, or ours.
    pub message: String,
    /// The vendor's request id, for support tickets.
    pub request_id: Option<String>,
    /// How long to wait before retrying, when the vendor or its documentation says.
    pub retry_after: Option<Duration>,
}

impl VendorError {
    /// An error of `kind`, retryable as the kind suggests.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        VendorError {
            kind,
            retryable: kind.retryable_by_default(),
            code: None,
            message: message.into(),
            request_id: None,
            retry_after: None,
        }
    }

    /// A network failure, timeout or 5xx.
    pub fn transient(message: impl Into<String>) -> Self {
        VendorError::new(ErrorKind::Transient, message)
    }

    /// Attaches the vendor's error code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Attaches the vendor's request id.
    pub fn with_request_id(mut self, id: Option<String>) -> Self {
        self.request_id = id;
        self
    }

    /// Sets how long to wait before retrying.
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// Overrides whether the error is retryable.
    pub fn retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    /// Whether this is a terminal error that waits for a spec or Secret change.
    pub fn is_terminal(&self) -> bool {
        !self.retryable && matches!(self.kind, ErrorKind::Credentials | ErrorKind::Rejected)
    }
}

impl VendorError {
    /// The code and message without the request id: what a condition message may carry. Every call
    /// has a new request id, so a status quoting it would change at every look, and each write would
    /// trigger the next reconcile (and vendor call) through its own watch event.
    pub fn summary(&self) -> String {
        match &self.code {
            Some(code) => format!("{code}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

impl fmt::Display for VendorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{code}: {}", self.message)?,
            None => write!(f, "{}", self.message)?,
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

impl std::error::Error for VendorError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_carries_code_message_and_request_id() {
        let e = VendorError::new(ErrorKind::Rejected, "not enough seat licences")
            .with_code("LimitExceeded.InsufficientLicense")
            .with_request_id(Some("req-1".into()));
        assert_eq!(
            e.to_string(),
            "LimitExceeded.InsufficientLicense: not enough seat licences (request id req-1)"
        );
        assert!(e.is_terminal());
        assert!(!e.retryable);
    }

    #[test]
    fn throttling_and_network_errors_are_retryable() {
        assert!(VendorError::new(ErrorKind::RateLimited, "slow down").retryable);
        assert!(VendorError::transient("connection reset").retryable);
        assert!(!VendorError::new(ErrorKind::Credentials, "bad key").retryable);
    }
}
