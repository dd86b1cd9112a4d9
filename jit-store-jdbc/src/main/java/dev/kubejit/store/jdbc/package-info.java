/**
 * A durable {@link dev.kubejit.api.spi.RequestStore} on plain JDBC: {@link
 * dev.kubejit.store.jdbc.JdbcRequestStore}, on an embedded SQLite file or a PostgreSQL server.
 */
package dev.kubejit.store.jdbc;
