package dev.kubejit.testing;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Marks a test class or method that needs a real PostgreSQL: tags it {@code postgres} and lets it
 * declare {@link PostgresServer} parameters, resolved with one throwaway server for the whole test
 * run (each test makes its own database with {@link PostgresServer#createDatabase()}). If
 * PostgreSQL is missing or does not start, the test fails with the reason; it is not skipped.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Tag("postgres")
@ExtendWith(PostgresExtension.class)
public @interface PostgresTest {}
