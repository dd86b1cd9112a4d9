package dev.kubejit.testing;

import dev.kubejit.api.spi.RequestStore;
import java.util.List;

/**
 * Opens a {@link RequestStore} in a child JVM from plain text arguments, for the interrupted-write
 * test of {@link SharedRequestStoreContract}; implementations need a public no-argument
 * constructor and must be on the test class path.
 */
@FunctionalInterface
public interface StoreOpener {
  /**
   * Opens a store on the backing store the arguments name.
   *
   * @throws Exception if it cannot be opened; the child JVM then exits non-zero
   */
  RequestStore open(List<String> args) throws Exception;
}
