/**
 * Test fixtures for KubeJIT: a real Kubernetes control plane (etcd, kube-apiserver,
 * kube-controller-manager on 127.0.0.1) for JUnit 5 via {@link dev.kubejit.testing.KubeTest}, an
 * opt-in real node ({@link dev.kubejit.testing.KubeNode}: kubelet, containerd, runc) for exec, logs
 * and port-forward into running containers, and {@link dev.kubejit.testing.FakeClock}.
 */
package dev.kubejit.testing;
