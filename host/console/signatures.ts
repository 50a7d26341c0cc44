/**
 * The signature state of each published version, as the console shows it:
 * checked against the trusted release key (the image read from the
 * artifact store, as the service does before a deploy), once per version
 * and signature.
 */
import type { KeyObject } from "node:crypto"
import {
    type ArtifactStore,
    verifyRelease,
    type VersionRecord,
} from "../fleet/index.ts"

/**
 * `verified`: the signature checks against the release key; `bad`: it does
 * not (or the artifact is missing or damaged); `unsigned`: published before
 * releases were signed; `signed`: signed, but no release key was given to
 * check it with.
 */
export type SignatureState = "verified" | "bad" | "unsigned" | "signed"

/** Checks version signatures, remembering each answer. */
export class SignatureChecker {
    private readonly cache = new Map<string, SignatureState>()

    constructor(
        private readonly artifacts: ArtifactStore,
        private readonly releaseKey?: KeyObject
    ) {}

    /** The state of `v`'s signature. */
    state(v: VersionRecord): SignatureState {
        if (!v.signature) return "unsigned"
        if (!this.releaseKey) return "signed"
        const k = `${v.hash} ${v.signature}`
        let s = this.cache.get(k)
        if (!s) {
            try {
                verifyRelease(
                    this.artifacts.get(v.hash),
                    v.signature,
                    this.releaseKey
                )
                s = "verified"
            } catch {
                s = "bad"
            }
            this.cache.set(k, s)
        }
        return s
    }
}
