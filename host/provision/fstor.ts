/**
 * Encoder for the DeviceScript runtime's flash store ("fstor", jacdac-c
 * source/jd_fstor.c, with large entries as the runtime builds it), the
 * region of flash that holds the deployed program and the settings. Pure.
 *
 * Layout (little-endian), from the store's start:
 * - header A at page 0 (header B, for garbage collection, follows it and
 *   stays erased): magic0 `FSTR` 0x52545346, magic1 0x6becea0a,
 *   generation u32, page size u32, total pages u16, header pages u16,
 *   reserved u32, then entries of 24 bytes: key (15 chars + NUL), offset
 *   u32 (from the store's start), size u32; entries grow up.
 * - small values (settings) grow down from the end of header A, each
 *   aligned to 8 bytes.
 * - large entries (key starting with `*`, e.g. `*prog`) take whole data
 *   pages after both headers (first fit).
 * - erased flash is 0xff.
 * Header pages: total pages / 16, at least 1, at most 240.
 *
 * The program (devsmgr.c) is the large entry `*prog`: magic0 0x8d8abd53,
 * bytecode size u32, magic1 0xb27c4b2b, FNV-1a hash of the bytecode u32,
 * 112 zero bytes, then the bytecode (size a multiple of 32). A setting
 * written over the settings service is the entry `:KEY` holding the value's
 * bytes (the JSON text the DeviceScript settings API reads).
 */

export const FSTOR_MAGIC0 = 0x52545346
export const FSTOR_MAGIC1 = 0x6becea0a
export const PROG_MAGIC0 = 0x8d8abd53
export const PROG_MAGIC1 = 0xb27c4b2b
/** Longest key in a store entry (the settings service adds `:`). */
export const FSTOR_KEY_SIZE = 15
const HEADER_BYTES = 24
const ENTRY_BYTES = 24
const PROG_HEADER_BYTES = 128

/** Size of the store: `pages` pages of `pageSize` bytes. */
export interface FstorGeometry {
    pageSize: number
    pages: number
}

/** Header pages the runtime uses for a store of this size. */
export function headerPages(g: FstorGeometry): number {
    return Math.min(Math.max(Math.floor(g.pages / 16), 1), 0xf0)
}

/** 32-bit FNV-1a, as jacdac-c's `jd_hash_fnv1a`. */
export function fnv1a(data: Uint8Array): number {
    let h = 0x811c9dc5
    for (const b of data) h = Math.imul(h ^ b, 0x1000193) >>> 0
    return h >>> 0
}

/** The `*prog` entry's bytes for a compiled program (`.devs`). */
export function programEntry(bytecode: Uint8Array): Buffer {
    if (bytecode.length % 32)
        throw new RangeError(
            `bytecode size ${bytecode.length} is not a multiple of 32`
        )
    const out = Buffer.alloc(PROG_HEADER_BYTES + bytecode.length, 0)
    out.writeUInt32LE(PROG_MAGIC0, 0)
    out.writeUInt32LE(bytecode.length, 4)
    out.writeUInt32LE(PROG_MAGIC1, 8)
    out.writeUInt32LE(fnv1a(bytecode), 12)
    out.set(bytecode, PROG_HEADER_BYTES)
    return out
}

/** Store key of a setting written through the settings service. */
export const settingKey = (key: string) => ":" + key

/** One entry: a small value, or a large one when the key starts with `*`. */
export interface FstorEntry {
    key: string
    value: Uint8Array
}

/**
 * A fresh store (generation 1) holding `entries` in order, as if each had
 * been written once on an erased device. Throws when they do not fit.
 */
export function encodeFstor(g: FstorGeometry, entries: FstorEntry[]): Buffer {
    const hp = headerPages(g)
    const headerSize = hp * g.pageSize
    const dataPages = g.pages - 2 * hp
    if (dataPages < 0) throw new RangeError("store too small for its headers")
    const out = Buffer.alloc(g.pages * g.pageSize, 0xff)
    out.writeUInt32LE(FSTOR_MAGIC0, 0)
    out.writeUInt32LE(FSTOR_MAGIC1, 4)
    out.writeUInt32LE(1, 8)
    out.writeUInt32LE(g.pageSize, 12)
    out.writeUInt16LE(g.pages, 16)
    out.writeUInt16LE(hp, 18)
    out.writeUInt32LE(0, 20)
    let entryAt = HEADER_BYTES
    let dataStart = headerSize
    let nextPage = 0 // first free data page
    for (const e of entries) {
        const key = Buffer.from(e.key, "utf8")
        if (!key.length || key.length > FSTOR_KEY_SIZE || key.includes(0))
            throw new RangeError(`store key '${e.key}': 1..15 bytes`)
        let offset: number
        if (e.key[0] === "*") {
            const pages = Math.max(1, Math.ceil(e.value.length / g.pageSize))
            if (nextPage + pages > dataPages)
                throw new RangeError(
                    `'${e.key}' (${e.value.length} bytes) does not fit the store`
                )
            offset = (2 * hp + nextPage) * g.pageSize
            nextPage += pages
        } else {
            if (e.value.length > headerSize - 200)
                throw new RangeError(`'${e.key}' is too large`)
            const aligned = e.value.length ? (e.value.length + 7) & ~7 : 8
            dataStart -= aligned
            offset = dataStart
        }
        if (entryAt + 2 * ENTRY_BYTES > dataStart)
            throw new RangeError("store header is full")
        out.set(e.value, offset)
        const ent = Buffer.alloc(ENTRY_BYTES, 0)
        key.copy(ent, 0)
        ent.writeUInt32LE(offset, 16)
        ent.writeUInt32LE(e.value.length, 20)
        ent.copy(out, entryAt)
        entryAt += ENTRY_BYTES
    }
    return out
}
