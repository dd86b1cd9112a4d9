package dev.kubejit.api;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import java.util.List;

/** The result of activating a request: the stored record, the grant, and the issued credentials. */
public final class Activation {
  private final RequestRecord record;
  private final ImmutableList<IssuedCredential> credentials;

  Activation(RequestRecord record, List<IssuedCredential> credentials) {
    this.record = requireNonNull(record);
    this.credentials = ImmutableList.copyOf(credentials);
  }

  /** The request's snapshot, now {@link RequestState#ACTIVE}. */
  public RequestRecord record() {
    return record;
  }

  /** The grant. */
  public Grant grant() {
    return record.grant().orElseThrow();
  }

  /** The credentials, in the order their specs were given; hand them only to the holder. */
  public ImmutableList<IssuedCredential> credentials() {
    return credentials;
  }

  @Override
  public String toString() {
    return "Activation{" + grant() + ", credentials=" + credentials + "}";
  }
}
