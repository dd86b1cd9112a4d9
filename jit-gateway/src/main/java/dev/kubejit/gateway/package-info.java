/**
 * The just-in-time SSH front door: {@link dev.kubejit.gateway.SshGateway} accepts OpenSSH user
 * certificates from the KubeJIT SSH CA only, offers no shell, decides every command with the grant's
 * policy through {@link dev.kubejit.api.JitBroker}, and runs it in the pod through the Kubernetes API
 * as the grant's own short-lived identity. See {@code docs/gateway.md}.
 */
package dev.kubejit.gateway;
