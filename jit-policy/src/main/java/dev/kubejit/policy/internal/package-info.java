/**
 * KubeJIT's own plumbing shared between its modules (the strict document reader used for policy
 * files and {@code kubejit.yaml}). Not API: it may change in any release; do not use it.
 */
package dev.kubejit.policy.internal;
