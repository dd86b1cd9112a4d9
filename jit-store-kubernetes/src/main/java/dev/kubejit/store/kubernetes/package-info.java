/**
 * A {@link dev.kubejit.api.spi.RequestStore} on {@code accessrequests.kubejit.dev} custom
 * resources in the broker's namespace ({@link dev.kubejit.store.kubernetes.KubernetesRequestStore}),
 * and {@link dev.kubejit.store.kubernetes.LeaderElectedExpiry}, which runs the broker's expiry
 * sweep on one replica at a time. The CRD and the least-privilege Role ship in this jar and in the
 * repository's {@code deploy/} directory.
 */
package dev.kubejit.store.kubernetes;
