import { describe, expect, it } from "vitest"

import {
  DEFAULT_COLUMNS,
  defaultView,
  formatAnnotationFilter,
  groupFilter,
  lookoutFilters,
  parseAnnotationFilter,
  searchFromView,
  stateCounts,
  viewFromSearch,
} from "./view"

describe("the view in the URL", () => {
  it("is empty for the default view", () => {
    expect(searchFromView(defaultView())).toBe("")
  })

  it("round-trips every kind of filter, the order, the grouping, the columns and the page", () => {
    const view = defaultView()
    view.text = { queue: "ml", jobSet: "nightly", jobId: "01abc", owner: "ana", priorityClass: "armada-default" }
    view.states = ["QUEUED", "RUNNING"]
    view.annotations = { team: "vision", gpu: "" }
    view.submittedFrom = "2026-12-01T00:00:00.000Z"
    view.submittedTo = "2026-12-02T00:00:00.000Z"
    view.order = { field: "jobId", direction: "ASC" }
    view.groupBy = { kind: "annotation", key: "team" }
    view.columns = ["jobId", "state", "ann.team"]
    view.page = 3
    const search = searchFromView(view)
    expect(viewFromSearch(search)).toEqual(view)
  })

  it("leaves out what it does not understand", () => {
    const view = viewFromSearch(
      "?state=QUEUED,BOGUS&sort=nonsense:asc&groupBy=node&cols=nope&page=-2&submittedFrom=yesterday",
    )
    expect(view.states).toEqual(["QUEUED"])
    expect(view.order).toEqual({ field: "submitted", direction: "DESC" })
    expect(view.groupBy).toEqual({ kind: "none" })
    expect(view.columns).toEqual(DEFAULT_COLUMNS)
    expect(view.page).toBe(0)
    expect(view.submittedFrom).toBeUndefined()
  })

  it("accepts states in any case", () => {
    expect(viewFromSearch("?state=running").states).toEqual(["RUNNING"])
  })
})

describe("the Lookout v2 filters of a view", () => {
  it("matches a job id exactly and other text by prefix", () => {
    const view = viewFromSearch("?queue=ml&jobId=01abc")
    expect(lookoutFilters(view)).toEqual([
      { field: "queue", value: "ml", match: "startsWith", isAnnotation: false },
      { field: "jobId", value: "01abc", match: "exact", isAnnotation: false },
    ])
  })

  it("asks for any of the chosen states, annotations and a submitted-time range", () => {
    const view = viewFromSearch("?state=QUEUED,FAILED&ann.team=vi&ann.gpu=&submittedFrom=2026-12-01T00:00:00Z")
    expect(lookoutFilters(view)).toEqual([
      { field: "state", value: ["QUEUED", "FAILED"], match: "anyOf", isAnnotation: false },
      { field: "team", value: "vi", match: "startsWith", isAnnotation: true },
      { field: "gpu", value: "", match: "exists", isAnnotation: true },
      { field: "submitted", value: "2026-12-01T00:00:00Z", match: "greaterThanOrEqualTo", isAnnotation: false },
    ])
  })

  it("ignores blank text", () => {
    expect(lookoutFilters(viewFromSearch("?queue=%20%20"))).toEqual([])
  })

  it("narrows to one group by its field or annotation", () => {
    expect(groupFilter({ kind: "field", field: "jobSet" }, "set1")).toEqual({
      field: "jobSet",
      value: "set1",
      match: "exact",
      isAnnotation: false,
    })
    expect(groupFilter({ kind: "annotation", key: "team" }, "ml")?.isAnnotation).toBe(true)
    expect(groupFilter({ kind: "none" }, "x")).toBeUndefined()
  })
})

describe("annotation filters typed in one box", () => {
  it("reads key=value pairs and bare keys", () => {
    expect(parseAnnotationFilter(" team = ml , gpu,,=orphan")).toEqual({ team: "ml", gpu: "" })
  })

  it("writes them back the same way", () => {
    expect(formatAnnotationFilter({ team: "ml", gpu: "" })).toBe("team=ml, gpu")
  })
})

describe("state counts of a group", () => {
  it("keeps the positive numeric counts", () => {
    expect(stateCounts({ state: { QUEUED: 2, RUNNING: 0, FAILED: 1, BAD: "x" } })).toEqual({ QUEUED: 2, FAILED: 1 })
    expect(stateCounts({})).toEqual({})
  })
})
