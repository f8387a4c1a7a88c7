import KernelSim
import LuaBridge

/// A `struct page` as a Lua value: a full userdata holding the pfn, with
/// fields `pfn`, `zone`, `flags`, `owner` (and `order`, `mapcount`,
/// `refcount`, `highmem`), read live from the machine. Two page values are
/// equal when they are the same frame. Prints as
/// `page{pfn=0x1a2b, zone=Normal, owner=slab kmalloc-128}`.
enum PageValue {
    static let type = LuaObjectType(key: "kmlab.page")

    static func install(into env: KernelEnvironment) {
        env.lua.declare(type, typeName: "struct page") { meta in
            meta.define("__index", named: "page") { call in
                guard let pfn = pfn(in: call, at: 1) else { return 0 }
                guard call.kind(2) == .string, let key = try? call.string(2, "field") else {
                    call.pushNil()
                    return 1
                }
                let info = env.machine.pageInfo(Page(pfn: pfn))
                switch key {
                case "pfn": call.push(Int64(pfn))
                case "zone": if let z = info?.zone { call.push(z) } else { call.pushNil() }
                case "flags": if let f = info?.flags { call.push(Int64(bitPattern: f)) } else { call.pushNil() }
                case "owner": if let o = info?.owner { call.push(o) } else { call.pushNil() }
                case "order": if let o = info?.order { call.push(Int64(o)) } else { call.pushNil() }
                case "mapcount": if let m = info?.mapcount { call.push(Int64(m)) } else { call.pushNil() }
                case "refcount": if let r = info?.refcount { call.push(Int64(r)) } else { call.pushNil() }
                case "highmem": call.push(info?.isHighMem ?? false)
                case "flag_names": call.push((info?.flagNames ?? []).joined(separator: "|"))
                default: call.pushNil()
                }
                return 1
            }
            meta.define("__tostring", named: "tostring") { call in
                guard let pfn = pfn(in: call, at: 1) else { return 0 }
                let info = env.machine.pageInfo(Page(pfn: pfn))
                call.push(info?.description ?? "page{pfn=0x\(String(pfn, radix: 16))}")
                return 1
            }
            meta.define("__eq", named: "page ==") { call in
                let a = pfn(in: call, at: 1), b = pfn(in: call, at: 2)
                call.push(a != nil && a == b)
                return 1
            }
        }
    }

    /// Pushes a page value for `page`, or nil.
    static func push(_ page: Page?, on call: LuaCall) {
        guard let page else { call.pushNil(); return }
        call.pushUserdata(page.pfn, of: type)
    }

    /// The pfn of the page value at `index`, or nil if it is not one.
    static func pfn(in call: LuaCall, at index: Int32) -> UInt64? {
        call.userdata(index, of: type, as: UInt64.self)
    }
}
