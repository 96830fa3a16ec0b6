//! The webhook's serving certificate: a private CA and a certificate for
//! the webhook Service's DNS names, kept in a Secret so that every replica
//! serves the same one and the caBundle stays valid across restarts.
//!
//! The controller makes these itself (no cert-manager needed). It replaces
//! them when they near expiry or when the DNS names they cover change.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

/// Secret data key of the CA certificate (PEM).
pub const CA_KEY: &str = "ca.crt";
/// Secret data key of the serving certificate (PEM).
pub const CERT_KEY: &str = "tls.crt";
/// Secret data key of the serving key (PEM).
pub const PRIVATE_KEY: &str = "tls.key";
/// Annotation with the certificates' expiry, in seconds since the epoch.
pub const NOT_AFTER_ANNOTATION: &str = "ferrolb.io/not-after";
/// Annotation listing the DNS names the certificate covers, comma separated.
pub const DNS_NAMES_ANNOTATION: &str = "ferrolb.io/dns-names";

/// How long generated certificates are valid.
pub const VALIDITY: Duration = Duration::from_secs(5 * 365 * 24 * 3600);
/// Replace certificates that expire within this period.
pub const RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 3600);

/// A CA and a serving certificate signed by it, in PEM.
#[derive(Clone, PartialEq, Eq)]
pub struct CertBundle {
    /// The CA certificate (the webhook configuration's caBundle).
    pub ca_pem: String,
    /// The serving certificate.
    pub cert_pem: String,
    /// The serving certificate's private key.
    pub key_pem: String,
    /// Expiry of both certificates, in seconds since the epoch.
    pub not_after: u64,
    /// DNS names (and IP addresses) the serving certificate covers.
    pub dns_names: Vec<String>,
}

impl std::fmt::Debug for CertBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertBundle")
            .field("not_after", &self.not_after)
            .field("dns_names", &self.dns_names)
            .finish_non_exhaustive()
    }
}

/// Why certificates could not be made.
#[derive(Debug, thiserror::Error)]
#[error("generating the webhook certificate: {0}")]
pub struct CertError(#[from] rcgen::Error);

/// The names a webhook Service is reached by from the API server.
pub fn service_dns_names(namespace: &str, service: &str) -> Vec<String> {
    vec![
        service.to_owned(),
        format!("{service}.{namespace}"),
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
    ]
}

fn seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Makes a new CA and a serving certificate for `dns_names`, valid from a
/// minute before `now` (clock skew) for [`VALIDITY`].
pub fn generate(dns_names: &[String], now: SystemTime) -> Result<CertBundle, CertError> {
    let not_before = now - Duration::from_secs(60);
    let not_after = now + VALIDITY;

    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "ferrolb-webhook-ca");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.not_before = not_before.into();
    ca_params.not_after = not_after.into();
    let ca_key = KeyPair::generate()?;
    let ca = ca_params.self_signed(&ca_key)?;

    let mut params = CertificateParams::new(dns_names.to_vec())?;
    params.distinguished_name.push(
        DnType::CommonName,
        dns_names.first().map_or("ferrolb-webhook", |s| s),
    );
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = not_before.into();
    params.not_after = not_after.into();
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &ca, &ca_key)?;

    Ok(CertBundle {
        ca_pem: ca.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        not_after: seconds(not_after),
        dns_names: dns_names.to_vec(),
    })
}

impl CertBundle {
    /// Whether this bundle can still be served at `now` for `dns_names`:
    /// it covers exactly those names and does not expire within
    /// [`RENEW_BEFORE`].
    pub fn usable(&self, dns_names: &[String], now: SystemTime) -> bool {
        self.dns_names == dns_names && seconds(now + RENEW_BEFORE) < self.not_after
    }

    /// The Secret's `data` (raw bytes; the client base64-encodes them).
    pub fn to_secret_data(&self) -> BTreeMap<String, Vec<u8>> {
        BTreeMap::from([
            (CA_KEY.to_owned(), self.ca_pem.clone().into_bytes()),
            (CERT_KEY.to_owned(), self.cert_pem.clone().into_bytes()),
            (PRIVATE_KEY.to_owned(), self.key_pem.clone().into_bytes()),
        ])
    }

    /// The Secret's annotations.
    pub fn to_annotations(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (NOT_AFTER_ANNOTATION.to_owned(), self.not_after.to_string()),
            (DNS_NAMES_ANNOTATION.to_owned(), self.dns_names.join(",")),
        ])
    }

    /// Reads a bundle back from a Secret's data and annotations; `None` if
    /// anything is missing or unreadable (the caller then makes a new one).
    pub fn from_secret(
        data: &BTreeMap<String, Vec<u8>>,
        annotations: &BTreeMap<String, String>,
    ) -> Option<CertBundle> {
        let text = |key: &str| {
            data.get(key)
                .and_then(|b| String::from_utf8(b.clone()).ok())
        };
        Some(CertBundle {
            ca_pem: text(CA_KEY)?,
            cert_pem: text(CERT_KEY)?,
            key_pem: text(PRIVATE_KEY)?,
            not_after: annotations.get(NOT_AFTER_ANNOTATION)?.parse().ok()?,
            dns_names: annotations
                .get(DNS_NAMES_ANNOTATION)?
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_round_trips_through_a_secret() {
        let names = service_dns_names("ferrolb-system", "ferrolb-webhook");
        let now = SystemTime::now();
        let bundle = generate(&names, now).unwrap();
        assert!(bundle.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(bundle.key_pem.contains("PRIVATE KEY"));
        let back = CertBundle::from_secret(&bundle.to_secret_data(), &bundle.to_annotations());
        assert_eq!(back.as_ref(), Some(&bundle));
    }

    #[test]
    fn usability() {
        let names = service_dns_names("ns", "svc");
        let now = SystemTime::now();
        let bundle = generate(&names, now).unwrap();
        let other_names = service_dns_names("ns", "other");
        let cases = [
            ("fresh", now, names.as_slice(), true),
            ("other names", now, other_names.as_slice(), false),
            (
                "inside the renewal window",
                now + VALIDITY - RENEW_BEFORE / 2,
                names.as_slice(),
                false,
            ),
            ("expired", now + VALIDITY * 2, names.as_slice(), false),
        ];
        for (case, at, dns, usable) in cases {
            assert_eq!(bundle.usable(dns, at), usable, "{case}");
        }
    }

    #[test]
    fn incomplete_secrets_are_not_bundles() {
        let bundle = generate(&["x".to_owned()], SystemTime::now()).unwrap();
        let mut data = bundle.to_secret_data();
        data.remove(PRIVATE_KEY);
        assert_eq!(
            CertBundle::from_secret(&data, &bundle.to_annotations()),
            None
        );
        let mut annotations = bundle.to_annotations();
        annotations.insert(NOT_AFTER_ANNOTATION.to_owned(), "soon".to_owned());
        assert_eq!(
            CertBundle::from_secret(&bundle.to_secret_data(), &annotations),
            None
        );
    }
}
