package dev.kubejit.store.jdbc;

import dev.kubejit.testing.PostgresServer;
import dev.kubejit.testing.PostgresTest;
import dev.kubejit.testing.SharedRequestStoreContract;

/** Several stores (and processes) on one PostgreSQL database meet the shared-store contract. */
@PostgresTest
class PostgresSharedRequestStoreContractTest extends SharedRequestStoreContract {
  private final PostgresServer server;

  PostgresSharedRequestStoreContractTest(PostgresServer server) {
    this.server = server;
  }

  @Override
  protected Backing newBacking() throws Exception {
    return new Backings.Postgres(server, tempDir);
  }
}
