/**
 * What the device says about the readings it keeps in flash, read from its
 * own log lines: the groups it wrote, and at each boot what flash held and
 * what the reporter took back. A boot's lines are the ground truth of what
 * survived a restart; a `kept` line may be missing when a cut comes between
 * the group's flash write and its console line.
 */
import type { SimSession } from "../../host/sim/index.ts"

/** The reporter's line for a group of readings it wrote to flash. */
export const KEPT_LINE = /^report: kept seq (\d+)\.\.(\d+) in flash/
/** The keeper's line at a boot: what flash held, and the seq it goes on from. */
export const FLASH_AT_BOOT_LINE =
    /^flash: (\d+) readings kept, (\d+) dropped for room, next seq (\d+)/
/** The reporter's line at a boot, when it took readings back from flash. */
export const RESTORED_LINE =
    /^report: (\d+) readings kept from before the restart \(seq (\d+)\.\.(\d+)\)/

/** What one boot found in flash, by its own lines. */
export interface FlashAtBoot {
    /** index of the boot's `flash:` line in the device lines */
    at: number
    /** readings flash held */
    kept: number
    /** readings dropped for room, as flash records them */
    dropped: number
    /** the seq of the boot's first reading */
    nextSeq: number
    /** seqs of the oldest and newest readings taken back (absent: none, or their line has not come yet) */
    restored?: { from: number; through: number }
}

/** Every boot's account of its flash in `lines`, from index `from` on, oldest first. */
export function flashAtBoots(
    lines: readonly string[],
    from = 0
): FlashAtBoot[] {
    const boots: FlashAtBoot[] = []
    for (let i = from; i < lines.length; i++) {
        const b = FLASH_AT_BOOT_LINE.exec(lines[i])
        if (b) {
            boots.push({ at: i, kept: +b[1], dropped: +b[2], nextSeq: +b[3] })
            continue
        }
        const r = RESTORED_LINE.exec(lines[i])
        const boot = boots.at(-1)
        if (!r || !boot || boot.restored) continue
        if (+r[1] !== boot.kept)
            throw new Error(
                `line ${i} "${lines[i]}" restores ${r[1]} readings, but flash held ${boot.kept}`
            )
        boot.restored = { from: +r[2], through: +r[3] }
    }
    return boots
}

/**
 * The seqs `boot` lost: taken before the restart and not in flash at the
 * boot (after the newest reading restored, before the boot's next seq).
 * Throws when the boot restored nothing (its lines do not tell then).
 */
export function lostAtBoot(boot: FlashAtBoot): number[] {
    if (!boot.restored)
        throw new Error(
            `the boot at line ${boot.at} restored nothing: its lines do not tell what it lost`
        )
    const lost: number[] = []
    for (let s = boot.restored.through + 1; s < boot.nextSeq; s++) lost.push(s)
    return lost
}

/** The newest seq the device said it kept in flash in `lines` before index `end` (0: none). */
export function lastKeptBefore(lines: readonly string[], end: number): number {
    let through = 0
    for (const line of lines.slice(0, end)) {
        const k = KEPT_LINE.exec(line)
        if (k) through = +k[2]
    }
    return through
}

/**
 * Waits for the next boot's account of its flash after device line `from`
 * (its `flash:` line and, when flash held readings, the restore line).
 */
export async function waitForFlashAtBoot(
    sim: SimSession,
    from: number,
    timeoutMs: number
): Promise<FlashAtBoot> {
    await sim.waitForLine(FLASH_AT_BOOT_LINE, timeoutMs)
    const boot = flashAtBoots(sim.lines, from)[0]
    if (boot.kept === 0) return boot
    await sim.waitForLine(RESTORED_LINE, 30_000)
    return flashAtBoots(sim.lines, from)[0]
}
