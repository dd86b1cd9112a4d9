package dev.kubejit.store.jdbc;

import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.testing.RequestStoreContract;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/** A SQLite file meets the store contract. */
class SqliteRequestStoreContractTest extends RequestStoreContract {
  @TempDir Path dir;
  private final List<JdbcRequestStore> stores = new ArrayList<>();

  @Override
  protected RequestStore newStore() {
    JdbcRequestStore s = JdbcRequestStore.builder().sqlite(dir.resolve("store-" + stores.size() + ".db")).build();
    stores.add(s);
    return s;
  }

  @AfterEach
  void close() {
    stores.forEach(JdbcRequestStore::close);
  }
}
