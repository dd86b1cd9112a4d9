/**
 * Enforcement inside the Kubernetes API server: {@link dev.kubejit.admission.ExecAdmission}, the
 * validating admission webhook that applies a grant's scope and command policy to plain {@code
 * kubectl exec}, {@code attach} and {@code port-forward}, deciding from a {@link
 * dev.kubejit.admission.GrantCache} in memory. Reaches the rest of KubeJIT through jit-api's SPIs
 * only; see {@code docs/admission.md}.
 */
package dev.kubejit.admission;
