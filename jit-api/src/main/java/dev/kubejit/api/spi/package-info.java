/**
 * Service-provider interfaces the broker is wired with: policy, store, audit sink, notifier, RBAC
 * provisioner and credential issuer, each with an in-memory implementation for tests and demos.
 */
package dev.kubejit.api.spi;
