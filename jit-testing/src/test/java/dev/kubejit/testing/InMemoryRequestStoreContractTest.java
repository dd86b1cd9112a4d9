package dev.kubejit.testing;

import dev.kubejit.api.spi.RequestStore;

/** The in-memory store meets the store contract. */
class InMemoryRequestStoreContractTest extends RequestStoreContract {
  @Override
  protected RequestStore newStore() {
    return RequestStore.inMemory();
  }
}
