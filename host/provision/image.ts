/**
 * Per-device part of a factory image: the compiled program and that
 * device's settings in the runtime's flash store, placed where the board's
 * architecture keeps the store; and the join of that part to the board's
 * generic DeviceScript firmware (what `devs bundle` does, minus the
 * download). Pure.
 */
import { createHash } from "node:crypto"
import {
    encodeFstor,
    programEntry,
    settingKey,
    type FstorEntry,
    type FstorGeometry,
} from "./fstor.ts"

/**
 * Where an architecture keeps the flash store (from the DeviceScript
 * CLI's boards.json, `archs`): absolute flash address, size, and the
 * address the firmware `.bin` starts at.
 */
export interface ArchPlacement extends FstorGeometry {
    archId: string
    /** absolute flash address of the store */
    fstorOffset: number
    /** absolute flash address of the first byte of the firmware .bin */
    binFlashOffset: number
}

/** ESP32 family (DeviceScript 2.16 `archs`): store at 0x1c0000, 64 pages of 4 KB. */
export const ARCHS: Record<string, ArchPlacement> = {
    esp32: {
        archId: "esp32",
        fstorOffset: 0x1c0000,
        pages: 64,
        pageSize: 4096,
        binFlashOffset: 0x1000,
    },
    esp32c3: {
        archId: "esp32c3",
        fstorOffset: 0x1c0000,
        pages: 64,
        pageSize: 4096,
        binFlashOffset: 0,
    },
    esp32s2: {
        archId: "esp32s2",
        fstorOffset: 0x1c0000,
        pages: 64,
        pageSize: 4096,
        binFlashOffset: 0x1000,
    },
    esp32s3: {
        archId: "esp32s3",
        fstorOffset: 0x1c0000,
        pages: 64,
        pageSize: 4096,
        binFlashOffset: 0,
    },
}

/** What a per-device part holds, written next to it (no secret values). */
export interface PartManifest {
    productKey: string
    deviceName: string
    board: string
    archId: string
    /** absolute flash address to write the part at */
    flashAddress: string
    size: number
    programSha256: string
    programBytes: number
    /** keys of the settings stored (values left out: they include the secret) */
    settingKeys: string[]
    /** sha256 of the part, to check it before flashing */
    partSha256: string
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex")

/**
 * The store image for one device: `*prog` first (as a deploy writes it),
 * then each setting as `:KEY` holding its value as a JSON string, the
 * form DeviceScript's `readSetting` parses.
 */
export function devicePart(
    arch: ArchPlacement,
    bytecode: Uint8Array,
    settings: Record<string, string>
): Buffer {
    const entries: FstorEntry[] = [
        { key: "*prog", value: programEntry(bytecode) },
    ]
    for (const [k, v] of Object.entries(settings))
        entries.push({
            key: settingKey(k),
            value: Buffer.from(JSON.stringify(v), "utf8"),
        })
    return encodeFstor(arch, entries)
}

/** Manifest for a part produced by {@link devicePart}. */
export function partManifest(
    arch: ArchPlacement,
    board: string,
    bytecode: Uint8Array,
    settings: Record<string, string>,
    part: Uint8Array
): PartManifest {
    return {
        productKey: settings.PRODUCT_KEY,
        deviceName: settings.DEVICE_NAME,
        board,
        archId: arch.archId,
        flashAddress: "0x" + arch.fstorOffset.toString(16),
        size: part.length,
        programSha256: sha256(bytecode),
        programBytes: bytecode.length,
        settingKeys: Object.keys(settings),
        partSha256: sha256(part),
    }
}

/**
 * Joins a per-device part to the board's generic firmware `.bin` (which
 * starts at `arch.binFlashOffset`): one image to write at that address.
 * Like the DeviceScript CLI's bundle patch, refuses a base that already
 * has data where the store goes (not 0x00 or 0xff).
 */
export function joinImage(
    arch: ArchPlacement,
    base: Uint8Array,
    part: Uint8Array
): Buffer {
    const at = arch.fstorOffset - arch.binFlashOffset
    if (at < 0) throw new RangeError("store lies before the firmware start")
    if (part.length !== arch.pages * arch.pageSize)
        throw new RangeError(
            `part is ${part.length} bytes, expected ${arch.pages * arch.pageSize} for ${arch.archId}`
        )
    let size = Math.max(base.length, at + part.length)
    size = Math.ceil(size / arch.pageSize) * arch.pageSize
    const out = Buffer.alloc(size, 0xff)
    out.set(base, 0)
    for (let i = at; i < Math.min(base.length, at + part.length); i++)
        if (base[i] !== 0 && base[i] !== 0xff)
            throw new RangeError(
                `the base firmware has data at 0x${(i + arch.binFlashOffset).toString(16)}, inside the settings store: wrong base image?`
            )
    out.set(part, at)
    return out
}
