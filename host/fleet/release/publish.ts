/**
 * Publishing a version: the checks an image must pass before the service
 * will ever deploy it, in one place for the CLI and the tests.
 */
import type { KeyObject } from "node:crypto"
import {
    inspectImage,
    padImage,
    type ArtifactStore,
    type ImageInfo,
} from "./artifacts.ts"
import { verifyRelease } from "./signing.ts"
import { checkOperatorName } from "../../lib/operator-name.ts"
import type { FleetStore, VersionRecord } from "../store/types.ts"

/**
 * Checks `image` (structure, size against a board's program area, release
 * signature against `releaseKey`), stores it by hash and records the
 * version `name` (a version published before releases were signed, with
 * the same image, just gets its signature).
 * The name and note are an operator's: one with a control or invisible
 * formatting character (which would show as something else) is refused.
 * @throws ArtifactError, SignatureError, RangeError for such a name, or a
 *   database error for a name or image published before
 */
export async function publishVersion(
    store: FleetStore,
    artifacts: ArtifactStore,
    image: Buffer,
    o: {
        name: string
        signature: string
        releaseKey: KeyObject
        note?: string
        now?: number
    }
): Promise<{ version: VersionRecord; info: ImageInfo }> {
    checkOperatorName(o.name, "version name", 64)
    if (o.note) checkOperatorName(o.note, "--note", 1000)
    const info = inspectImage(image)
    verifyRelease(image, o.signature, o.releaseKey)
    artifacts.put(image)
    await store.putImage(info.hash, padImage(image))
    const old = await store.versionByName(o.name)
    if (old && old.hash === info.hash && !old.signature) {
        // published before releases were signed: the same image, now signed
        await store.setVersionSignature(o.name, o.signature.trim())
        return {
            version: { ...old, signature: o.signature.trim() },
            info,
        }
    }
    const version: VersionRecord = {
        name: o.name,
        hash: info.hash,
        size: info.size,
        note: o.note ?? "",
        publishedAt: o.now ?? Date.now(),
        signature: o.signature.trim(),
    }
    await store.addVersion(version)
    return { version, info }
}
