package dev.kubejit.testing;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import java.util.List;

/**
 * How a child JVM opens a store on the same backing store as the test: a {@link StoreOpener} class
 * and the arguments it is given. Arguments may name files or URLs but should not carry passwords
 * (they are visible in the process list); pass a file that holds the password instead.
 */
public final class ChildStore {
  private final String openerClass;
  private final ImmutableList<String> args;

  private ChildStore(String openerClass, ImmutableList<String> args) {
    this.openerClass = openerClass;
    this.args = args;
  }

  /** Returns the description for {@code opener} (instantiated in the child) and its arguments. */
  public static ChildStore of(Class<? extends StoreOpener> opener, List<String> args) {
    return new ChildStore(requireNonNull(opener, "opener").getName(), ImmutableList.copyOf(args));
  }

  /** The opener's class name. */
  public String openerClass() {
    return openerClass;
  }

  /** The opener's arguments. */
  public ImmutableList<String> args() {
    return args;
  }

  @Override
  public String toString() {
    return "ChildStore{" + openerClass + " " + args.size() + " args}";
  }
}
