package dev.kubejit.api;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The RBAC objects an {@link dev.kubejit.api.spi.RbacProvisioner} manages for one grant, as it
 * read them back from where they live (the cluster): the grant id and request id the objects are
 * labelled or annotated with, when the oldest of them was created, and the expiry they carry.
 *
 * <p>The broker uses it to find RBAC that no stored grant accounts for (an activation that
 * crashed after provisioning and before its record) and to remove it; see {@link
 * JitBroker.Builder#orphanGrace}.
 */
public final class ManagedRbac {
  private final GrantId grantId;
  private final RequestId requestId;
  private final String namespace;
  private final Instant createdAt;
  private final Instant expiresAt;
  private final ImmutableList<String> objects;

  private ManagedRbac(GrantId grantId, RequestId requestId, String namespace, Instant createdAt, Instant expiresAt,
      List<String> objects) {
    this.grantId = requireNonNull(grantId, "grantId");
    this.requestId = requestId;
    this.namespace = namespace == null ? null : Validation.requireDnsLabel(namespace, "namespace");
    this.createdAt = requireNonNull(createdAt, "createdAt");
    this.expiresAt = expiresAt;
    this.objects = ImmutableList.copyOf(requireNonNull(objects, "objects"));
    for (String o : this.objects) {
      Validation.requireText(o, "object", 512);
    }
  }

  /**
   * The objects of one grant.
   *
   * @param grantId the grant id the objects are labelled with
   * @param requestId the request id they are annotated with, or null if they carry none
   * @param namespace their namespace, or null for cluster-scoped objects
   * @param createdAt when the oldest of them was created
   * @param expiresAt the earliest expiry they carry, or null if none is readable
   * @param objects a description of each object, for example {@code RoleBinding/payments/kubejit-x}
   * @throws IllegalArgumentException if the namespace or an object description is not acceptable
   */
  public static ManagedRbac of(GrantId grantId, RequestId requestId, String namespace, Instant createdAt,
      Instant expiresAt, List<String> objects) {
    return new ManagedRbac(grantId, requestId, namespace, createdAt, expiresAt, objects);
  }

  /** The grant the objects belong to. */
  public GrantId grantId() {
    return grantId;
  }

  /** The request the grant was activated for, if the objects say. */
  public Optional<RequestId> requestId() {
    return Optional.ofNullable(requestId);
  }

  /** The objects' namespace; empty for cluster-scoped objects. */
  public Optional<String> namespace() {
    return Optional.ofNullable(namespace);
  }

  /** When the oldest of the objects was created (by the clock of whatever holds them). */
  public Instant createdAt() {
    return createdAt;
  }

  /** The earliest expiry the objects carry, if readable. */
  public Optional<Instant> expiresAt() {
    return Optional.ofNullable(expiresAt);
  }

  /** A description of each object (kind, namespace, name). */
  public ImmutableList<String> objects() {
    return objects;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ManagedRbac m && grantId.equals(m.grantId) && Objects.equals(requestId, m.requestId)
        && Objects.equals(namespace, m.namespace) && createdAt.equals(m.createdAt)
        && Objects.equals(expiresAt, m.expiresAt) && objects.equals(m.objects);
  }

  @Override
  public int hashCode() {
    return Objects.hash(grantId, requestId, namespace, createdAt, expiresAt, objects);
  }

  @Override
  public String toString() {
    return "ManagedRbac[grant " + grantId + (requestId == null ? "" : ", request " + requestId)
        + (namespace == null ? ", cluster" : ", namespace " + namespace) + ", created " + createdAt
        + (expiresAt == null ? "" : ", expires " + expiresAt) + ", " + SafeText.quote(String.join(",", objects)) + "]";
  }
}
