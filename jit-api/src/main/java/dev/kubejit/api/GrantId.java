package dev.kubejit.api;

/** Identifies a grant: 128 random bits, lower-case base32, safe in Kubernetes names. */
public final class GrantId {
  private final String value;

  private GrantId(String value) {
    this.value = value;
  }

  /** Returns a new unguessable identifier. */
  public static GrantId random() {
    return new GrantId(Ids.random());
  }

  /**
   * Parses an identifier produced by {@link #random()}.
   *
   * @throws IllegalArgumentException if {@code value} is not 26 lower-case base32 characters
   */
  public static GrantId parse(String value) {
    return new GrantId(Ids.parse(value, "grant id"));
  }

  /** The identifier's text. */
  public String value() {
    return value;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof GrantId && ((GrantId) o).value.equals(value);
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
