/**
 * KubeJIT's domain model and the {@link dev.kubejit.api.JitBroker} that runs the lifecycle request
 * → decide → approve → activate → use → expire or revoke.
 */
package dev.kubejit.api;
