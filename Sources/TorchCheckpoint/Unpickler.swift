// Unpickler: a restricted reader of pickle protocols 2–5, enough for what torch.save writes.
//
// Safety property: nothing in the stream is ever imported or called. A GLOBAL/STACK_GLOBAL
// becomes either an allow-listed global that this file interprets itself (OrderedDict, tensor
// and parameter rebuilds, storage types, dtypes) or an inert `.opaque(module, name)`
// placeholder; REDUCE, NEWOBJ and BUILD on a placeholder give the placeholder back.
//
// Bounds: every length is checked against the bytes left, the stack, the mark stack and the
// operation count are limited, the memo is a dictionary (a huge memo index allocates nothing),
// and values are flat (see Pickle.swift), so no input hangs, traps or recurses without bound.
import SafeTensors

/// Limits of the unpickler; the defaults are far above anything `torch.save` writes.
public struct UnpicklerLimits: Sendable {
  /// Values on the stack at once (the pickler batches SETITEMS/APPENDS by 1000).
  public var maxStackDepth = 1_000_000
  /// MARKs open at once (nesting depth of the stream).
  public var maxMarkDepth = 10_000
  /// Opcodes executed.
  public var maxOperations = 100_000_000
  /// Dimensions of a tensor.
  public var maxDimensions = 64

  /// The default limits.
  public init() {}
}

/// The restricted unpickler. `unpickle` turns the bytes of `data.pkl` into a `PickleGraph`.
public struct Unpickler {
  /// The limits applied.
  public var limits: UnpicklerLimits
  /// Names the file in errors.
  public var path: String

  /// An unpickler whose errors name `path`.
  public init(path: String, limits: UnpicklerLimits = UnpicklerLimits()) {
    self.path = path
    self.limits = limits
  }

  /// Runs the pickle program in `bytes` up to STOP. Throws `TorchCheckpointError` for an
  /// unsupported opcode, malformed or truncated data, a limit reached, or an allow-listed global
  /// called with the wrong arguments.
  public func unpickle(_ bytes: [UInt8]) throws -> PickleGraph {
    var machine = PickleMachine(bytes: bytes, path: path, limits: limits)
    return try machine.run()
  }
}

/// The state of one unpickling: the stream, the stack, the marks, the memo and the graph built.
struct PickleMachine {
  let bytes: [UInt8]
  let path: String
  let limits: UnpicklerLimits
  var pos = 0
  /// Offset of the opcode being executed (for errors).
  var at = 0
  var stack: [Pickle] = []
  var marks: [Int] = []
  var memo: [Int: Pickle] = [:]
  var graph = PickleGraph()

  init(bytes: [UInt8], path: String, limits: UnpicklerLimits) {
    self.bytes = bytes
    self.path = path
    self.limits = limits
  }

  // MARK: Errors

  func invalid(_ reason: String) -> TorchCheckpointError {
    TorchCheckpointError(path: path, .invalidPickle(offset: at, reason: reason))
  }

  func limit(_ what: String, _ n: Int) -> TorchCheckpointError {
    TorchCheckpointError(path: path, .limitExceeded(what: what, limit: n, offset: at))
  }

  func badArguments(_ global: String, _ reason: String) -> TorchCheckpointError {
    TorchCheckpointError(path: path, .badArguments(global: global, reason: reason, offset: at))
  }

  // MARK: Reading the stream

  mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
    guard n >= 0, n <= bytes.count - pos else {
      throw invalid(
        "needs \(n) bytes but only \(bytes.count - pos) remain (truncated or a bad length)")
    }
    defer { pos += n }
    return bytes[pos..<(pos + n)]
  }

  mutating func byte() throws -> UInt8 { try take(1).first ?? 0 }

  mutating func littleEndian(_ n: Int) throws -> UInt64 {
    var v: UInt64 = 0
    for (i, b) in try take(n).enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
    return v
  }

  /// A length field of `n` bytes, checked against the bytes left.
  mutating func length(_ n: Int, signed: Bool = false) throws -> Int {
    let raw = try littleEndian(n)
    let value: Int64
    if signed && n == 4 {
      value = Int64(Int32(bitPattern: UInt32(truncatingIfNeeded: raw)))
    } else if raw > UInt64(Int64.max) {
      throw invalid("length \(raw) is larger than the stream")
    } else {
      value = Int64(raw)
    }
    guard value >= 0, value <= Int64(bytes.count - pos) else {
      throw invalid("length \(value) is larger than the \(bytes.count - pos) bytes left")
    }
    return Int(value)
  }

  /// A newline-terminated line (protocol 0 arguments), without the newline.
  mutating func line() throws -> String {
    guard let end = bytes[pos...].firstIndex(of: 0x0A) else {
      throw invalid("a text argument has no terminating newline")
    }
    let text = String(decoding: bytes[pos..<end], as: UTF8.self)
    pos = end + 1
    return text
  }

  func text(_ b: ArraySlice<UInt8>) -> String { String(decoding: b, as: UTF8.self) }

  // MARK: Stack

  mutating func push(_ v: Pickle) throws {
    guard stack.count < limits.maxStackDepth else {
      throw limit("the stack depth", limits.maxStackDepth)
    }
    stack.append(v)
  }

  mutating func pop() throws -> Pickle {
    let floor = marks.last ?? 0
    guard stack.count > floor else { throw invalid("pops from an empty stack") }
    return stack.removeLast()
  }

  func top() throws -> Pickle {
    let floor = marks.last ?? 0
    guard stack.count > floor, let v = stack.last else { throw invalid("reads an empty stack") }
    return v
  }

  /// The values pushed since the last MARK (which is removed).
  mutating func popMark() throws -> [Pickle] {
    guard let m = marks.popLast() else { throw invalid("no MARK to pop to") }
    let items = Array(stack[m...])
    stack.removeSubrange(m...)
    return items
  }

  mutating func newTuple(_ items: [Pickle]) -> Pickle {
    graph.tuples.append(items)
    return .tuple(graph.tuples.count - 1)
  }

  mutating func newDict() -> Pickle {
    graph.dicts.append(PickleDict())
    return .dict(graph.dicts.count - 1)
  }

  // MARK: The loop

  mutating func run() throws -> PickleGraph {
    var operations = 0
    while true {
      operations += 1
      if operations > limits.maxOperations {
        throw limit("the number of operations", limits.maxOperations)
      }
      at = pos
      let op = try byte()
      switch op {
      case 0x80:  // PROTO
        let v = try byte()
        guard v >= 2 && v <= 5 else {
          throw invalid("pickle protocol \(v) is not supported (2 to 5 are)")
        }
      case 0x95:  // FRAME: a length hint only
        _ = try littleEndian(8)
      case 0x2E:  // STOP
        graph.root = try pop()
        return graph
      case 0x28:  // MARK
        guard marks.count < limits.maxMarkDepth else {
          throw limit("the MARK depth", limits.maxMarkDepth)
        }
        marks.append(stack.count)
      case 0x30:  // POP
        if let m = marks.last, m == stack.count {
          marks.removeLast()  // Python pops a MARK here too
        } else {
          _ = try pop()
        }
      case 0x31:  // POP_MARK
        _ = try popMark()
      case 0x32:  // DUP
        try push(try top())

      case 0x7D:  // EMPTY_DICT
        try push(newDict())
      case 0x64:  // DICT
        let items = try popMark()
        guard items.count % 2 == 0 else { throw invalid("DICT with an odd number of items") }
        let d = newDict()
        try setItems(d, items)
        try push(d)
      case 0x5D:  // EMPTY_LIST
        graph.lists.append([])
        try push(.list(graph.lists.count - 1))
      case 0x6C:  // LIST
        let items = try popMark()
        graph.lists.append(items)
        try push(.list(graph.lists.count - 1))
      case 0x29:  // EMPTY_TUPLE
        try push(newTuple([]))
      case 0x74:  // TUPLE
        let items = try popMark()
        try push(newTuple(items))
      case 0x85, 0x86, 0x87:  // TUPLE1, TUPLE2, TUPLE3
        let n = Int(op - 0x84)
        var items: [Pickle] = []
        for _ in 0..<n { items.append(try pop()) }
        try push(newTuple(items.reversed()))
      case 0x8F:  // EMPTY_SET
        graph.sets.append([])
        try push(.set(graph.sets.count - 1))
      case 0x90:  // ADDITEMS
        let items = try popMark()
        switch try top() {
        case .set(let i): graph.sets[i].append(contentsOf: items)
        case .opaque: break
        default: throw invalid("ADDITEMS on something that is not a set")
        }
      case 0x91:  // FROZENSET
        let items = try popMark()
        graph.sets.append(items)
        try push(.set(graph.sets.count - 1))

      case 0x73:  // SETITEM
        let value = try pop()
        let key = try pop()
        try setItems(try top(), [key, value])
      case 0x75:  // SETITEMS
        let items = try popMark()
        guard items.count % 2 == 0 else { throw invalid("SETITEMS with an odd number of items") }
        try setItems(try top(), items)
      case 0x61:  // APPEND
        let value = try pop()
        try append(to: try top(), [value])
      case 0x65:  // APPENDS
        let items = try popMark()
        try append(to: try top(), items)

      case 0x71:  // BINPUT
        memo[Int(try byte())] = try top()
      case 0x72:  // LONG_BINPUT
        memo[Int(try littleEndian(4))] = try top()
      case 0x70:  // PUT
        guard let i = Int(try line()), i >= 0 else { throw invalid("PUT with a bad memo index") }
        memo[i] = try top()
      case 0x94:  // MEMOIZE
        memo[memo.count] = try top()
      case 0x68:  // BINGET
        try get(Int(try byte()))
      case 0x6A:  // LONG_BINGET
        try get(Int(try littleEndian(4)))
      case 0x67:  // GET
        guard let i = Int(try line()), i >= 0 else { throw invalid("GET with a bad memo index") }
        try get(i)

      case 0x4A:  // BININT
        try push(.int(Int(Int32(bitPattern: UInt32(truncatingIfNeeded: try littleEndian(4))))))
      case 0x4B:  // BININT1
        try push(.int(Int(try byte())))
      case 0x4D:  // BININT2
        try push(.int(Int(try littleEndian(2))))
      case 0x8A:  // LONG1
        let n = try length(1)
        try push(long(try take(n)))
      case 0x8B:  // LONG4
        let n = try length(4, signed: true)
        try push(long(try take(n)))
      case 0x49:  // INT (protocol 0; "00"/"01" are False/True)
        let s = try line()
        if s == "00" {
          try push(.bool(false))
        } else if s == "01" {
          try push(.bool(true))
        } else if let n = Int(s) {
          try push(.int(n))
        } else {
          throw invalid("INT with a bad number")
        }
      case 0x47:  // BINFLOAT (big-endian)
        var v: UInt64 = 0
        for b in try take(8) { v = v << 8 | UInt64(b) }
        try push(.float(Double(bitPattern: v)))
      case 0x46:  // FLOAT (protocol 0)
        guard let x = Double(try line()) else { throw invalid("FLOAT with a bad number") }
        try push(.float(x))
      case 0x88:  // NEWTRUE
        try push(.bool(true))
      case 0x89:  // NEWFALSE
        try push(.bool(false))
      case 0x4E:  // NONE
        try push(.none)

      case 0x58:  // BINUNICODE
        let n = try length(4)
        try push(.string(text(try take(n))))
      case 0x8C:  // SHORT_BINUNICODE
        let n = try length(1)
        try push(.string(text(try take(n))))
      case 0x8D:  // BINUNICODE8
        let n = try length(8)
        try push(.string(text(try take(n))))
      case 0x56:  // UNICODE (raw-unicode-escape; read as UTF-8, enough for names)
        try push(.string(try line()))
      case 0x54:  // BINSTRING (Python 2 str)
        let n = try length(4, signed: true)
        try push(.string(text(try take(n))))
      case 0x55:  // SHORT_BINSTRING
        let n = try length(1)
        try push(.string(text(try take(n))))
      case 0x42:  // BINBYTES
        let n = try length(4)
        try push(.bytes(Array(try take(n))))
      case 0x43:  // SHORT_BINBYTES
        let n = try length(1)
        try push(.bytes(Array(try take(n))))
      case 0x8E:  // BINBYTES8
        let n = try length(8)
        try push(.bytes(Array(try take(n))))

      case 0x63:  // GLOBAL
        let module = try line()
        let name = try line()
        try push(AllowedGlobal.resolve(module: module, name: name))
      case 0x93:  // STACK_GLOBAL
        let name = try pop()
        let module = try pop()
        guard case .string(let m) = module, case .string(let n) = name else {
          throw invalid("STACK_GLOBAL needs two strings")
        }
        try push(AllowedGlobal.resolve(module: m, name: n))
      case 0x51:  // BINPERSID
        let pid = try pop()
        try push(try persistentLoad(pid))
      case 0x52:  // REDUCE
        let args = try pop()
        let callable = try pop()
        try push(try call(callable, args))
      case 0x81:  // NEWOBJ
        let args = try pop()
        let cls = try pop()
        try push(try instantiate(cls, args))
      case 0x92:  // NEWOBJ_EX
        _ = try pop()  // kwargs
        let args = try pop()
        let cls = try pop()
        try push(try instantiate(cls, args))
      case 0x62:  // BUILD: state is dropped, the object kept (nothing's __setstate__ runs)
        _ = try pop()
        _ = try top()

      default:
        throw TorchCheckpointError(path: path, .unsupportedOpcode(opcode: op, offset: at))
      }
    }
  }

  mutating func get(_ i: Int) throws {
    guard let v = memo[i] else { throw invalid("memo index \(i) was never stored") }
    try push(v)
  }

  func long(_ b: ArraySlice<UInt8>) -> Pickle {
    if b.isEmpty { return .int(0) }
    if b.count > 8 { return .bigInt(Array(b)) }
    var v: UInt64 = 0
    for (i, x) in b.enumerated() { v |= UInt64(x) << (8 * UInt64(i)) }
    // Sign-extend from the top byte.
    let bits = UInt64(b.count * 8)
    if bits < 64, (b.last ?? 0) & 0x80 != 0 { v |= ~0 << bits }
    return .int(Int(Int64(bitPattern: v)))
  }

  mutating func setItems(_ target: Pickle, _ items: [Pickle]) throws {
    switch target {
    case .dict(let i):
      var k = 0
      while k + 1 < items.count {
        graph.dicts[i].set(items[k], items[k + 1])
        k += 2
      }
    case .opaque:
      break  // an inert object: its __setitem__ is never called
    default:
      throw invalid("SETITEM(S) on \(graph.summary(target)), which is not a dict")
    }
  }

  mutating func append(to target: Pickle, _ items: [Pickle]) throws {
    switch target {
    case .list(let i): graph.lists[i].append(contentsOf: items)
    case .opaque: break
    default: throw invalid("APPEND(S) on \(graph.summary(target)), which is not a list")
    }
  }

}
