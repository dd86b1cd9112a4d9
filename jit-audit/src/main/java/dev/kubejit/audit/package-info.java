/**
 * Tamper-evident audit trail for KubeJIT: a JSON-lines file sink with group commit, a SHA-256
 * hash chain and Ed25519-signed checkpoints ({@link dev.kubejit.audit.FileAuditSink}), its
 * verifier ({@link dev.kubejit.audit.AuditVerifier}), query ({@link dev.kubejit.audit.AuditQuery})
 * and the join with the Kubernetes API server's own audit log
 * ({@link dev.kubejit.audit.AuditCorrelator}). The record format is specified in
 * {@code docs/audit.md} and {@code audit.schema.json} (also a resource of this package).
 */
package dev.kubejit.audit;
