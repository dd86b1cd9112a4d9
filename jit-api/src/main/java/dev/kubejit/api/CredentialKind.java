package dev.kubejit.api;

/** The kinds of credential a grant can carry. */
public enum CredentialKind {
  /** An X.509 client certificate issued from the requester's PKCS#10 CSR. */
  X509_FROM_CSR,
  /** An X.509 client certificate whose key the issuer generated, on explicit request only. */
  X509_SERVER_GENERATED_KEY,
  /** An OpenSSH user certificate for the requester's public key. */
  SSH_USER_CERTIFICATE,
  /** A signed JWT. */
  JWT,
  /** An opaque reference, used by in-memory test issuers. */
  OPAQUE
}
