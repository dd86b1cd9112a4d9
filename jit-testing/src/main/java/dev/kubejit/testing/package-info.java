/**
 * Test fixtures for KubeJIT: a real Kubernetes control plane (etcd, kube-apiserver,
 * kube-controller-manager on 127.0.0.1, no containers) for JUnit 5 via {@link
 * dev.kubejit.testing.KubeTest}, and {@link dev.kubejit.testing.FakeClock}.
 */
package dev.kubejit.testing;
