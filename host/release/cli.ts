/**
 * `npm run release -- VERSION [--out FILE] [--key PRIVATE]`
 *
 * Builds the firmware (`src/main.ts`) with release version VERSION
 * (`x.y.z`) stamped in, so that the device reports `vx.y.z`, and writes it
 * to `state/releases/VERSION.devs` (or `--out FILE`). When a release key
 * exists (`--key PRIVATE`, else `release-key.pem` in the key directory
 * `fleet keygen` writes), it signs the image and writes `FILE.sig` beside
 * it, which `fleet publish FILE NAME` picks up.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { buildFirmware } from "../lib/build.ts"
import { readCommandLine } from "../lib/args.ts"
import {
    defaultKeyDir,
    keyFingerprint,
    loadPrivateKey,
    PRIVATE_KEY_FILE,
    signRelease,
} from "../fleet/index.ts"
import { createPublicKey } from "node:crypto"
import { RELEASE_COMMAND } from "./command.ts"

/** A release version: `x.y.z`, what the compiler stamps as `vx.y.z`. */
export const RELEASE_VERSION = /^\d{1,9}\.\d{1,9}\.\d{1,9}$/

/** Where a release is written: `--out`, else `state/releases/VERSION.devs`. */
export function releaseFile(version: string, out?: string): string {
    return out ?? join("state/releases", `${version}.devs`)
}

/** The private key to sign with: `--key`, else keygen's default if it exists. */
export function releaseKeyFile(key?: string): string | undefined {
    if (key !== undefined) return key
    const file = join(defaultKeyDir(), PRIVATE_KEY_FILE)
    return existsSync(file) ? file : undefined
}

async function main(argv: string[]) {
    const { values: o, positionals } = readCommandLine(
        RELEASE_COMMAND,
        "release",
        argv
    )
    const version = positionals[0]
    if (positionals.length !== 1 || !RELEASE_VERSION.test(version)) {
        console.error(
            `release: VERSION is x.y.z, e.g. 2.0.0 (the firmware then reports v2.0.0)\nusage: ${RELEASE_COMMAND.usage}`
        )
        process.exit(2)
    }
    const keyFile = releaseKeyFile(o.key)
    if (keyFile !== undefined && !existsSync(keyFile))
        throw new Error(`--key ${keyFile}: no such file`)
    const key = keyFile === undefined ? undefined : loadPrivateKey(keyFile)
    const image = await buildFirmware("src/main.ts", { version })
    // the compiler records the version only from a clean git tag: check it did
    if (!image.includes(`v${version}\0`))
        throw new Error(
            `the build does not carry version v${version}; not written`
        )
    const file = releaseFile(version, o.out)
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, image)
    console.log(
        `release ${version}: ${file} (${image.length} bytes; the firmware reports v${version})`
    )
    const sigFile = `${file}.sig`
    if (key) {
        writeFileSync(sigFile, signRelease(image, key) + "\n")
        console.log(
            `signed: ${sigFile} (key ${keyFingerprint(createPublicKey(key))}); fleet publish ${file} NAME picks it up`
        )
    } else {
        // a signature left from an earlier build of this name is not this image's
        rmSync(sigFile, { force: true })
        console.log(
            `not signed: no release key in ${defaultKeyDir()} (npm run fleet -- keygen) and no --key; ` +
                `sign it with fleet sign or fleet publish --key`
        )
    }
}

main(process.argv.slice(2)).catch(e => {
    console.error(`release: ${(e as Error).message}`)
    process.exit(1)
})
