// Shared by the fleet tests: a release key pair made for the test run, and
// publishing a version the way `fleet publish` does (signed, checked).
import { createPrivateKey, createPublicKey } from "node:crypto"
import type { ArtifactStore } from "../../host/fleet/artifacts.ts"
import { publishVersion } from "../../host/fleet/publish.ts"
import { generateReleaseKeys, signRelease } from "../../host/fleet/signing.ts"
import type { FleetStore } from "../../host/fleet/storage.ts"

/** A release key pair for tests (PEM texts and key objects). */
export function testReleaseKeys() {
    const pem = generateReleaseKeys()
    return {
        ...pem,
        privateKey: createPrivateKey(pem.privatePem),
        publicKey: createPublicKey(pem.publicPem),
    }
}

/** The key pair most tests share. */
export const releaseKeys = testReleaseKeys()

/** Publishes `image` as `name`, signed with the shared test key. */
export function publishSigned(
    store: FleetStore,
    artifacts: ArtifactStore,
    name: string,
    image: Buffer
) {
    return publishVersion(store, artifacts, image, {
        name,
        signature: signRelease(image, releaseKeys.privateKey),
        releaseKey: releaseKeys.publicKey,
    }).version
}
