// Pickle: the values a restricted unpickler produces.
//
// A `Pickle` is a flat value: containers (tuples, lists, dicts, sets) are indices into the
// `PickleGraph` that owns them, never nested enum payloads. So a value never recurses when it
// is copied, compared or freed, and a container that contains itself (a memo reference cycle)
// is just an index that points back; walkers bound their depth and track what they visited.
import SafeTensors

/// A storage named by a checkpoint's persistent id: `('storage', <type>, key, location, numel)`.
public struct TorchStorage: Hashable, Sendable {
  /// The archive entry `<stem>/data/<key>` holding the bytes.
  public var key: String
  /// Element type, from the storage type (`torch.FloatStorage` → F32; untyped storage → U8).
  public var dtype: DType
  /// Number of elements of `dtype` (bytes for an untyped storage).
  public var count: Int
  /// Where the storage lived when saved (`cpu`, `cuda:0`; informative only).
  public var location: String
}

/// A tensor rebuilt by `torch._utils._rebuild_tensor_v2`: a strided view of a storage.
public struct TorchTensor: Hashable, Sendable {
  /// The storage viewed.
  public var storage: TorchStorage
  /// Offset of element [0, …, 0] in the storage, in elements.
  public var offset: Int
  /// Size of each dimension (empty for a scalar).
  public var shape: [Int]
  /// Step in elements between neighbours along each dimension.
  public var stride: [Int]

  /// The element type (the storage's).
  public var dtype: DType { storage.dtype }

  /// Number of elements (the product of `shape`, 1 for a scalar); checked when built.
  public var count: Int { shape.reduce(1, *) }

  /// True when the elements are the storage's elements `offset ..< offset + count` in order.
  public var isContiguous: Bool {
    var expected = 1
    for d in stride.indices.reversed() {
      if shape[d] != 1 && stride[d] != expected { return false }
      expected *= shape[d]
    }
    return true
  }
}

/// One value of an unpickled object. Containers are indices into the owning `PickleGraph`.
public enum Pickle: Hashable, Sendable {
  /// `None`.
  case none
  /// `True` / `False`.
  case bool(Bool)
  /// An integer that fits in 64 bits.
  case int(Int)
  /// A larger integer: little-endian two's-complement bytes, as LONG1/LONG4 store them.
  case bigInt([UInt8])
  /// A float.
  case float(Double)
  /// A text string.
  case string(String)
  /// A bytes object.
  case bytes([UInt8])
  /// A tuple: `PickleGraph.tuples[index]`.
  case tuple(Int)
  /// A list: `PickleGraph.lists[index]`.
  case list(Int)
  /// A dict or OrderedDict: `PickleGraph.dicts[index]`.
  case dict(Int)
  /// A set or frozenset: `PickleGraph.sets[index]`.
  case set(Int)
  /// An allow-listed global (a function or class the reader interprets), not yet called.
  case global(module: String, name: String)
  /// An inert placeholder for any other global, and for whatever calling, instantiating or
  /// building it would have produced. Nothing is imported or called.
  case opaque(module: String, name: String)
  /// A torch dtype (`torch.float32`, …) that maps onto a safetensors dtype.
  case dtype(DType)
  /// A storage (the result of a persistent id).
  case storage(TorchStorage)
  /// A tensor or `nn.Parameter`.
  case tensor(TorchTensor)
}

/// A dict's entries in insertion order; assigning an existing string or integer key replaces
/// its value, as Python does.
public struct PickleDict: Sendable {
  /// Keys and values in insertion order.
  public private(set) var entries: [(key: Pickle, value: Pickle)] = []
  private var index: [Pickle: Int] = [:]

  /// An empty dict.
  public init() {}

  /// Sets `key` to `value` (replacing the value of an equal string or integer key).
  public mutating func set(_ key: Pickle, _ value: Pickle) {
    switch key {
    case .string, .int, .bool, .none:
      if let i = index[key] {
        entries[i].value = value
        return
      }
      index[key] = entries.count
    default:
      break
    }
    entries.append((key, value))
  }

  /// The value of a string key.
  public subscript(key: String) -> Pickle? {
    index[.string(key)].map { entries[$0].value }
  }

  /// Number of entries.
  public var count: Int { entries.count }
}

/// An unpickled object: its root value and every container, indexed by the root's values.
public struct PickleGraph: Sendable {
  /// The value `STOP` returned.
  public var root: Pickle = .none
  /// Tuples, indexed by `Pickle.tuple`.
  public var tuples: [[Pickle]] = []
  /// Lists, indexed by `Pickle.list`.
  public var lists: [[Pickle]] = []
  /// Dicts, indexed by `Pickle.dict`.
  public var dicts: [PickleDict] = []
  /// Sets, indexed by `Pickle.set`.
  public var sets: [[Pickle]] = []

  /// An empty graph.
  public init() {}

  /// The entries of `value` if it is a dict.
  public func dict(_ value: Pickle) -> PickleDict? {
    if case .dict(let i) = value { return dicts[i] }
    return nil
  }

  /// The items of `value` if it is a tuple or a list.
  public func items(_ value: Pickle) -> [Pickle]? {
    switch value {
    case .tuple(let i): return tuples[i]
    case .list(let i): return lists[i]
    default: return nil
    }
  }

  /// A short description of `value` for error messages: its type, and a dict's first keys.
  public func summary(_ value: Pickle) -> String {
    switch value {
    case .none: return "None"
    case .bool(let b): return b ? "True" : "False"
    case .int(let n): return "the integer \(n)"
    case .bigInt: return "a large integer"
    case .float(let x): return "the float \(x)"
    case .string(let s): return "the string '\(s.prefix(40))'"
    case .bytes(let b): return "a bytes object of \(b.count) bytes"
    case .tuple(let i): return "a tuple of \(tuples[i].count) items"
    case .list(let i): return "a list of \(lists[i].count) items"
    case .set(let i): return "a set of \(sets[i].count) items"
    case .dict(let i):
      let d = dicts[i]
      let shown = d.entries.prefix(12).map { keyName($0.key) }
      let more = d.count > 12 ? ", … (\(d.count) keys)" : ""
      return "a dict with keys [\(shown.joined(separator: ", "))\(more)]"
    case .global(let m, let n): return "the global \(m).\(n)"
    case .opaque(let m, let n): return "an object of \(m).\(n) (not loaded)"
    case .dtype(let d): return "the dtype \(d.rawValue)"
    case .storage(let s): return "a storage of \(s.count) \(s.dtype.rawValue)"
    case .tensor(let t): return "a \(t.dtype.rawValue) tensor of shape \(t.shape)"
    }
  }

  private func keyName(_ key: Pickle) -> String {
    switch key {
    case .string(let s): return s
    case .int(let n): return String(n)
    default: return "<" + summary(key) + ">"
    }
  }
}
