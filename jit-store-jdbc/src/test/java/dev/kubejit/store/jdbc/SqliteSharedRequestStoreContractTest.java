package dev.kubejit.store.jdbc;

import dev.kubejit.testing.SharedRequestStoreContract;

/** Several stores (and processes) on one SQLite file meet the shared-store contract. */
class SqliteSharedRequestStoreContractTest extends SharedRequestStoreContract {
  @Override
  protected Backing newBacking() {
    return new Backings.Sqlite(tempDir.resolve("shared.db"));
  }
}
