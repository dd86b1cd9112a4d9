package dev.kubejit.store.jdbc;

import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.testing.PostgresServer;
import dev.kubejit.testing.PostgresTest;
import dev.kubejit.testing.RequestStoreContract;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/** A PostgreSQL database meets the store contract. */
@PostgresTest
class PostgresRequestStoreContractTest extends RequestStoreContract {
  private final PostgresServer server;
  @TempDir Path dir;
  private final List<Backings.Postgres> databases = new ArrayList<>();
  private final List<JdbcRequestStore> stores = new ArrayList<>();

  PostgresRequestStoreContractTest(PostgresServer server) {
    this.server = server;
  }

  @Override
  protected RequestStore newStore() {
    try {
      Backings.Postgres db = new Backings.Postgres(server, dir);
      databases.add(db);
      JdbcRequestStore s = db.open();
      stores.add(s);
      return s;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @AfterEach
  void close() throws Exception {
    stores.forEach(JdbcRequestStore::close);
    for (Backings.Postgres db : databases) {
      db.close();
    }
  }
}
