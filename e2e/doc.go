// Package e2e holds end-to-end tests that run kloak's binaries as a person
// would: kloaknode run as its own process, kloakwallet receive and pay in
// two more, a real kaspad on devnet, real wallet files. It has no code of
// its own outside the tests.
package e2e
