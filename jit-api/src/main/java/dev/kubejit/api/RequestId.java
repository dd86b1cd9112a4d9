package dev.kubejit.api;

/** Identifies an access request: 128 random bits, lower-case base32, safe in Kubernetes names. */
public final class RequestId {
  private final String value;

  private RequestId(String value) {
    this.value = value;
  }

  /** Returns a new unguessable identifier. */
  public static RequestId random() {
    return new RequestId(Ids.random());
  }

  /**
   * Parses an identifier produced by {@link #random()}.
   *
   * @throws IllegalArgumentException if {@code value} is not 26 lower-case base32 characters
   */
  public static RequestId parse(String value) {
    return new RequestId(Ids.parse(value, "request id"));
  }

  /** The identifier's text. */
  public String value() {
    return value;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RequestId && ((RequestId) o).value.equals(value);
  }

  @Override
  public int hashCode() {
    return value.hashCode();
  }

  @Override
  public String toString() {
    return value;
  }
}
