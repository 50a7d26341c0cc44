// The readings view: per device, one live chart per field (uPlot), at most
// MAX_CHARTS_PER_DEVICE of them, with a gap where `seq` jumps, and markers
// for dropped readings, version reports and authentications. Devices are
// kept by their name as a key (never looked up in the page by a selector,
// which a name with a NUL in it would never match), and shown with their
// hidden characters escaped.
import uPlot from "./uplot.esm.js"
import { chartedFields } from "./chart-fields.js"
import { h } from "./dom.js"
import { visible } from "./visible.js"

/** Readings kept per device in the page. */
const KEEP = 300
/** @type {Map<string, {points: any[], markers: any[]}>} */
const devices = new Map()
/** @type {Map<string, HTMLElement>} card per device */
const cards = new Map()
/** @type {Map<string, Map<string, any>>} chart per field, per device */
const charts = new Map()
let error = ""
/** @type {Record<string, string>} platform identity → fleet id */
let fleetIds = {}

/** Takes the whole state (`readings-init`). @param {any} s */
export function initReadings(s) {
    devices.clear()
    for (const [name, d] of Object.entries(s.devices ?? {}))
        devices.set(name, d)
    error = s.off
        ? "not connected to an emulator: start the console with --platform-admin URL"
        : s.error
}

/** The kept readings of `name`, made when new. @param {string} name */
function slot(name) {
    let d = devices.get(name)
    if (!d) devices.set(name, (d = { points: [], markers: [] }))
    return d
}

/** Adds what a poll brought (`readings`). @param {any} u */
export function addReadings(u) {
    error = u.error
    for (const name of u.forgotten ?? []) devices.delete(name)
    for (const p of u.points) {
        const d = slot(p.device)
        d.points.push(p)
        if (d.points.length > KEEP) d.points.splice(0, d.points.length - KEEP)
    }
    for (const m of u.markers) {
        const d = slot(m.device)
        d.markers.push(m)
        if (d.markers.length > KEEP)
            d.markers.splice(0, d.markers.length - KEEP)
    }
}

/** Names fleet devices by their platform identity. @param {any} snap */
export function setFleet(snap) {
    fleetIds = Object.fromEntries(
        snap.devices.filter(d => d.platformId).map(d => [d.platformId, d.id])
    )
}

/**
 * The chart data of one field: x in seconds, a null where seq jumps
 * forward by more than one (readings that never arrived), so the line
 * breaks there.
 * @param {any[]} points sorted by time @param {string} field
 */
export function seriesOf(points, field) {
    const xs = []
    const ys = []
    let prev
    for (const p of points) {
        if (!(field in p.values)) continue
        if (
            prev &&
            p.seq !== undefined &&
            prev.seq !== undefined &&
            p.seq > prev.seq + 1
        ) {
            xs.push((prev.t + p.t) / 2000)
            ys.push(null)
        }
        xs.push(p.t / 1000)
        ys.push(p.values[field])
        prev = p
    }
    return [xs, ys]
}

/** Markers of a device: its own, and where its `dropped` count rose. @param {{points: any[], markers: any[]}} d */
function markersOf(d) {
    const out = d.markers.map(m => ({
        t: m.t,
        kind: m.kind,
        label: visible(m.label),
    }))
    let last = 0
    for (const p of d.points)
        if (p.dropped !== undefined && p.dropped > last) {
            out.push({ t: p.t, kind: "dropped", label: `dropped ${p.dropped}` })
            last = p.dropped
        }
    return out
}

const COLORS = {
    version: "#1f5fbf",
    auth: "#888",
    "auth-failed": "#c25e00",
    dropped: "#c25e00",
}

/** uPlot plugin: a vertical line and a label per marker. @param {() => any[]} get */
function markerPlugin(get) {
    return {
        hooks: {
            draw: [
                /** @param {any} u */ u => {
                    const ctx = u.ctx
                    const [x0, x1] = [u.scales.x.min, u.scales.x.max]
                    ctx.save()
                    ctx.font = `${11 * devicePixelRatio}px sans-serif`
                    let row = 0
                    for (const m of get()) {
                        const t = m.t / 1000
                        if (t < x0 || t > x1) continue
                        const x = Math.round(u.valToPos(t, "x", true))
                        ctx.strokeStyle = ctx.fillStyle =
                            COLORS[m.kind] ?? "#444"
                        ctx.setLineDash(m.kind === "auth" ? [3, 3] : [])
                        ctx.beginPath()
                        ctx.moveTo(x, u.bbox.top)
                        ctx.lineTo(x, u.bbox.top + u.bbox.height)
                        ctx.stroke()
                        ctx.fillText(
                            m.label,
                            x + 3,
                            u.bbox.top +
                                (10 + 12 * (row++ % 3)) * devicePixelRatio
                        )
                    }
                    ctx.restore()
                },
            ],
        },
    }
}

/**
 * The x range (seconds) for readings at times `xs`: their span, stretched
 * to show the markers just before them (a version report precedes the
 * first reading after a boot); a single instant is shown as a minute.
 * @param {number[]} xs sorted @param {any[]} markers
 * @returns {[number, number]}
 */
export function xRange(xs, markers) {
    let min = xs[0] ?? Date.now() / 1000
    let max = xs[xs.length - 1] ?? min
    for (const m of markers ?? []) {
        const t = m.t / 1000
        if (t >= min - 10 && t < min) min = t
        if (t > max) max = t
    }
    if (!(max - min > 0.001)) return [min - 30, min + 30]
    const pad = (max - min) * 0.03
    return [min - pad, max + pad]
}

/**
 * What the legend says of the fields left out: those not charted and those
 * the console did not keep.
 * @param {string[]} charted @param {string[]} left @param {any} latest
 */
function leftOutText(charted, left, latest) {
    let text = ""
    if (left.length)
        text += ` · ${charted.length} of ${charted.length + left.length} fields charted; not charted: ${left.slice(0, 5).map(visible).join(", ")}${left.length > 5 ? ` and ${left.length - 5} more` : ""}`
    if (latest?.omittedFields)
        text += ` · ${latest.omittedFields} more fields of the latest reading not kept (the console keeps the first ${Object.keys(latest.values).length})`
    return text
}

/** Removes the card and charts of a device no longer kept. @param {string} name */
function dropCard(name) {
    for (const c of charts.get(name)?.values() ?? []) c.destroy()
    charts.delete(name)
    cards.get(name)?.remove()
    cards.delete(name)
}

/** Draws (or updates) every chart into `root`. @param {HTMLElement} root */
export function renderReadings(root) {
    const status = /** @type {HTMLElement} */ (
        document.getElementById("readings-status")
    )
    for (const name of [...cards.keys()])
        if (!devices.has(name) || !root.contains(cards.get(name) ?? null))
            dropCard(name)
    const names = [...devices.keys()].sort()
    status.textContent = visible(
        error ||
            (names.length
                ? `${names.length} device(s); last ${KEEP} readings each`
                : "no readings yet")
    )
    for (const name of names) {
        const d = /** @type {{points: any[], markers: any[]}} */ (
            devices.get(name)
        )
        d.points.sort((a, b) => a.t - b.t)
        let card = cards.get(name)
        if (!card) {
            card = h(
                "div",
                { class: "device-card", "data-device": name },
                h(
                    "h3",
                    {},
                    fleetIds[name] ? `${fleetIds[name]} (${name})` : name
                ),
                h("div", { class: "legend" }),
                h("div", { class: "charts" })
            )
            root.append(card)
            cards.set(name, card)
        }
        const markers = markersOf(d)
        const legend = /** @type {HTMLElement} */ (
            card.querySelector(".legend")
        )
        const latest = markers.filter(m => m.kind === "version").pop()
        const { charted, left } = chartedFields(d.points)
        legend.replaceChildren(
            `${d.points.length} readings`,
            latest
                ? h(
                      "span",
                      { class: "mk-version" },
                      ` · version ${latest.label}`
                  )
                : "",
            h(
                "span",
                { class: "mk-auth" },
                ` · ${markers.filter(m => m.kind === "auth").length} auth`
            ),
            h(
                "span",
                { class: "mk-dropped" },
                ` · ${d.points.at(-1)?.dropped ?? 0} dropped`
            ),
            h(
                "span",
                { class: "left-out" },
                leftOutText(charted, left, d.points.at(-1))
            )
        )
        let mine = charts.get(name)
        if (!mine) charts.set(name, (mine = new Map()))
        for (const [f, c] of mine)
            if (!charted.includes(f)) {
                // its field is no longer among the first charted
                c.destroy()
                c.box.remove()
                mine.delete(f)
            }
        for (const f of charted) {
            const data = seriesOf(d.points, f)
            let c = mine.get(f)
            if (!c) {
                const box = h("div", {
                    class: "chart",
                    "data-device": name,
                    "data-field": f,
                })
                card.querySelector(".charts")?.append(box)
                c = new uPlot(
                    {
                        width: 520,
                        height: 200,
                        title: visible(f),
                        scales: {
                            x: {
                                time: true,
                                range: u => xRange(u.data[0], c.markers),
                            },
                        },
                        series: [
                            {},
                            {
                                label: visible(f),
                                stroke: "#2f8f4e",
                                width: 2,
                                spanGaps: false,
                                points: { show: true, size: 4 },
                            },
                        ],
                        plugins: [markerPlugin(() => c.markers)],
                    },
                    data,
                    box
                )
                c.box = box
                mine.set(f, c)
            }
            c.markers = markers
            c.setData(data)
            c.box.dataset.points = String(
                data[1].filter(v => v !== null).length
            )
            c.box.dataset.gaps = String(data[1].filter(v => v === null).length)
            c.box.dataset.markers = String(markers.length)
        }
    }
}
