/**
 * Firmware artifacts: DeviceScript images (`.devs` from `devs build`),
 * checked before they are accepted, stored by content hash, and checked
 * again every time they are read for a deployment.
 *
 * The content hash is the one the runtime reports for its program
 * (`GetHash`): SHA-256 of the image padded with zeros to a multiple of 32
 * bytes (the deploy protocol's alignment).
 */
import { createHash } from "node:crypto"
import { spawnSync } from "node:child_process"
import {
    chmodSync,
    existsSync,
    mkdirSync,
    readdirSync,
    readFileSync,
    renameSync,
    writeFileSync,
} from "node:fs"
import { join } from "node:path"
import { DEPLOY_ALIGN } from "../device/protocol.ts"
import { devsCli } from "../../lib/devs.ts"

/** `DevS\n` + the format's second magic word (little-endian). */
const MAGIC0 = 0x53766544
const MAGIC1 = 0xf1296e0a
/** Fixed header + ten (start, length) sections. */
const HEADER_BYTES = 32 + 10 * 8
/** Image format version this runtime accepts: major 2, minor <= 16. */
const FORMAT_MAJOR = 2
const FORMAT_MAX_MINOR = 16
/**
 * Largest program a board can hold, in bytes: 229 248.
 *
 * Where it comes from: the ESP32 runtime (microsoft/devicescript-esp32,
 * `boards/partitions.csv`, shared by ESP32, -C3, -S2 and -S3 builds) gives
 * its flash store (`fstor`, jacdac-c `source/jd_fstor.c`) a 256 KB
 * partition of 4096-byte pages (`main/jd_user_config.h`): 64 pages. With
 * large settings the store keeps 64 / 16 = 4 header pages twice, leaving
 * 56 data pages = 229 376 bytes. The program is one large setting
 * (`*prog`, devicescript `runtime/devicescript/devsmgr.c`
 * `devsmgr_deploy_start`) of a 128-byte header plus the image, so the image
 * can be at most 229 376 - 128 = 229 248 bytes (a multiple of 32). Other
 * large settings share those pages, so a device may have less.
 */
export const MAX_IMAGE_BYTES = 229_248
/** Mode of stored artifacts (their directory is 0700). */
export const ARTIFACT_FILE_MODE = 0o600

/** Why an image was refused. */
export class ArtifactError extends Error {
    constructor(message: string) {
        super(message)
        this.name = "ArtifactError"
    }
}

/** What the service knows about an accepted image. */
export interface ImageInfo {
    /** SHA-256 hex of the padded image: what the device reports. */
    hash: string
    /** Bytes as deployed (a multiple of 32). */
    size: number
    /** Image format version `major.minor.patch`. */
    format: string
}

/** The image padded with zeros to the deploy alignment. */
export function padImage(image: Buffer): Buffer {
    const rest = image.length % DEPLOY_ALIGN
    if (rest === 0) return image
    return Buffer.concat([image, Buffer.alloc(DEPLOY_ALIGN - rest)])
}

/** Program hash as the runtime computes it (SHA-256 hex of the padded image). */
export function imageHash(image: Buffer): string {
    return createHash("sha256").update(padImage(image)).digest("hex")
}

/**
 * Structural checks of a DeviceScript image: magic words, format version,
 * every section inside the file, and no more than alignment padding after
 * the last one (so a truncated or extended file is refused).
 * @throws ArtifactError
 */
export function inspectImage(image: Buffer): ImageInfo {
    if (image.length < HEADER_BYTES)
        throw new ArtifactError(`image too small (${image.length} bytes)`)
    if (padImage(image).length > MAX_IMAGE_BYTES)
        throw new ArtifactError(
            `image too large: ${padImage(image).length} bytes, a board's program area holds ${MAX_IMAGE_BYTES}`
        )
    if (image.readUInt32LE(0) !== MAGIC0 || image.readUInt32LE(4) !== MAGIC1)
        throw new ArtifactError("not a DeviceScript image (bad magic)")
    const v = image.readUInt32LE(8)
    const major = v >>> 24
    const minor = (v >>> 16) & 0xff
    const format = `${major}.${minor}.${v & 0xffff}`
    if (major !== FORMAT_MAJOR || minor > FORMAT_MAX_MINOR)
        throw new ArtifactError(`unsupported image format ${format}`)
    let end = HEADER_BYTES
    for (let i = 0; i < 10; i++) {
        const start = image.readUInt32LE(32 + i * 8)
        const length = image.readUInt32LE(36 + i * 8)
        if (length === 0) continue
        if (start < HEADER_BYTES || start + length > image.length)
            throw new ArtifactError(
                `section ${i} (${start}+${length}) outside the ${image.length}-byte image: truncated or corrupted`
            )
        end = Math.max(end, start + length)
    }
    if (padImage(image.subarray(0, end)).length < image.length)
        throw new ArtifactError(
            `${image.length - end} bytes after the last section: not one image`
        )
    return { hash: imageHash(image), size: padImage(image).length, format }
}

/**
 * Deep check with the DeviceScript toolchain's own decoder (`devs disasm`):
 * it decodes every function and string and reports damage that the header
 * does not show. Takes a second or two.
 * @throws ArtifactError
 */
export function verifyWithToolchain(file: string): void {
    const r = spawnSync(
        process.execPath,
        [devsCli, "--no-colors", "disasm", file],
        { encoding: "utf8", timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }
    )
    const out = `${r.stdout ?? ""}\n${r.stderr ?? ""}`
    const errors = out
        .split("\n")
        .filter(l => /disasm error|Error:|\?\?\?oops/.test(l))
    if (r.status !== 0 || errors.length > 0)
        throw new ArtifactError(
            `the DeviceScript decoder refused it: ${errors.slice(0, 3).join("; ") || `exit ${r.status}`}`
        )
}

/**
 * Content-addressed store of accepted images: `<dir>/<hash>.devs`, the
 * directory 0700 and every file 0600.
 */
export class ArtifactStore {
    constructor(readonly dir: string) {
        mkdirSync(dir, { recursive: true, mode: 0o700 })
        chmodSync(dir, 0o700)
        for (const f of readdirSync(dir))
            if (f.endsWith(".devs")) chmodSync(join(dir, f), ARTIFACT_FILE_MODE)
    }

    path(hash: string): string {
        if (!/^[0-9a-f]{64}$/.test(hash)) throw new RangeError("bad hash")
        return join(this.dir, `${hash}.devs`)
    }

    /** Stores a checked image (padded) and returns its info. */
    put(image: Buffer): ImageInfo {
        const info = inspectImage(image)
        const p = this.path(info.hash)
        if (!existsSync(p)) {
            const tmp = `${p}.tmp-${process.pid}`
            writeFileSync(tmp, padImage(image), { mode: ARTIFACT_FILE_MODE })
            renameSync(tmp, p)
        }
        return info
    }

    has(hash: string): boolean {
        return existsSync(this.path(hash))
    }

    /**
     * The image with this hash, re-hashed and re-checked.
     * @throws ArtifactError when missing or no longer matching its hash
     */
    get(hash: string): Buffer {
        const p = this.path(hash)
        if (!existsSync(p))
            throw new ArtifactError(`artifact ${hash.slice(0, 12)} missing`)
        const image = readFileSync(p)
        const actual = imageHash(image)
        if (actual !== hash)
            throw new ArtifactError(
                `artifact ${hash.slice(0, 12)} is damaged in storage (now hashes to ${actual.slice(0, 12)})`
            )
        inspectImage(image)
        return image
    }

    /**
     * As {@link get}, but an image missing here is first copied from
     * `shared` (the fleet store, where an instance on another machine
     * published it), checked as {@link put} checks an image.
     */
    async getShared(
        hash: string,
        shared: { image(hash: string): Promise<Buffer | undefined> }
    ): Promise<Buffer> {
        if (!this.has(hash)) {
            const image = await shared.image(hash)
            if (image) this.put(image)
        }
        return this.get(hash)
    }
}
