// Unpickler+Globals: the globals the unpickler interprets itself (the allow-list), the calls
// REDUCE and NEWOBJ make on them, persistent ids, and the bounds of a tensor view. Everything
// not listed here is an inert placeholder; nothing is imported or called.
import SafeTensors

/// Globals the reader interprets; every other global is an inert placeholder.
enum AllowedGlobal {
  static let callables: Set<String> = [
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
  ]

  /// Storage types and the dtype of their elements.
  static let storages: [String: DType] = [
    "torch.FloatStorage": .f32, "torch.HalfStorage": .f16, "torch.BFloat16Storage": .bf16,
    "torch.DoubleStorage": .f64, "torch.LongStorage": .i64, "torch.IntStorage": .i32,
    "torch.ShortStorage": .i16, "torch.CharStorage": .i8, "torch.ByteStorage": .u8,
    "torch.BoolStorage": .bool, "torch.storage.UntypedStorage": .u8, "torch.UntypedStorage": .u8,
  ]

  /// `torch.<name>` dtypes (pickled by name).
  static let dtypes: [String: DType] = [
    "float32": .f32, "float": .f32, "float16": .f16, "half": .f16, "bfloat16": .bf16,
    "float64": .f64, "double": .f64, "int64": .i64, "long": .i64, "int32": .i32, "int": .i32,
    "int16": .i16, "short": .i16, "int8": .i8, "uint8": .u8, "bool": .bool,
  ]

  /// The value a GLOBAL pushes.
  static func resolve(module: String, name: String) -> Pickle {
    let qualified = module + "." + name
    if callables.contains(qualified) || storages[qualified] != nil {
      return .global(module: module, name: name)
    }
    if module == "torch", let d = dtypes[name] { return .dtype(d) }
    return .opaque(module: module, name: name)
  }
}

extension PickleMachine {
  /// `('storage', <storage type>, key, location, numel)` → a storage.
  func persistentLoad(_ pid: Pickle) throws -> Pickle {
    func bad(_ reason: String) -> TorchCheckpointError {
      TorchCheckpointError(path: path, .badPersistentID(reason: reason, offset: at))
    }
    guard case .tuple(let t) = pid else { throw bad("expected a tuple, got \(graph.summary(pid))") }
    let items = graph.tuples[t]
    guard items.count == 5, case .string("storage") = items[0] else {
      throw bad(
        "expected ('storage', type, key, location, numel), got a tuple of \(items.count) items")
    }
    guard case .global(let module, let name) = items[1],
      let dtype = AllowedGlobal.storages[module + "." + name]
    else {
      throw bad("storage type \(graph.summary(items[1])) is not supported")
    }
    guard case .string(let key) = items[2], case .string(let location) = items[3],
      case .int(let numel) = items[4],
      numel >= 0
    else {
      throw bad("key and location must be strings and numel a non-negative integer")
    }
    return .storage(TorchStorage(key: key, dtype: dtype, count: numel, location: location))
  }

  mutating func call(_ callable: Pickle, _ args: Pickle) throws -> Pickle {
    switch callable {
    case .opaque:
      return callable  // never called: the placeholder stands for the result
    case .global(let module, let name):
      let qualified = module + "." + name
      guard case .tuple(let t) = args else {
        throw badArguments(qualified, "the arguments are \(graph.summary(args)), not a tuple")
      }
      let a = graph.tuples[t]
      switch qualified {
      case "collections.OrderedDict":
        return try orderedDict(a)
      case "torch._utils._rebuild_tensor_v2":
        guard a.count == 6 || a.count == 7 else {
          throw badArguments(qualified, "expects 6 or 7 arguments, got \(a.count)")
        }
        guard case .bool = a[4] else {
          throw badArguments(qualified, "requires_grad is not a bool")
        }
        return try rebuildTensor(qualified, Array(a[0..<4]))
      case "torch._utils._rebuild_tensor":
        guard a.count == 4 else {
          throw badArguments(qualified, "expects 4 arguments, got \(a.count)")
        }
        return try rebuildTensor(qualified, a)
      case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
        let expected = name == "_rebuild_parameter" ? 3 : 4
        guard a.count == expected else {
          throw badArguments(qualified, "expects \(expected) arguments, got \(a.count)")
        }
        guard case .tensor = a[0] else {
          throw badArguments(qualified, "the data is \(graph.summary(a[0])), not a tensor")
        }
        guard case .bool = a[1] else {
          throw badArguments(qualified, "requires_grad is not a bool")
        }
        return a[0]
      default:
        throw badArguments(qualified, "it is a type this reader does not call")
      }
    default:
      throw invalid("REDUCE calls \(graph.summary(callable)), which is not callable")
    }
  }

  mutating func instantiate(_ cls: Pickle, _ args: Pickle) throws -> Pickle {
    switch cls {
    case .opaque:
      return cls
    case .global(module: "collections", name: "OrderedDict"):
      return newDict()
    case .global(let module, let name):
      throw badArguments(module + "." + name, "it is not a class this reader instantiates")
    default:
      throw invalid("NEWOBJ on \(graph.summary(cls)), which is not a class")
    }
  }

  mutating func orderedDict(_ a: [Pickle]) throws -> Pickle {
    let d = newDict()
    if a.isEmpty { return d }
    guard a.count == 1, let pairs = graph.items(a[0]) else {
      throw badArguments("collections.OrderedDict", "expects no arguments or one list of pairs")
    }
    guard case .dict(let i) = d else { return d }
    for p in pairs {
      guard let kv = graph.items(p), kv.count == 2 else {
        throw badArguments("collections.OrderedDict", "an item is not a (key, value) pair")
      }
      graph.dicts[i].set(kv[0], kv[1])
    }
    return d
  }

  /// `(storage, storage_offset, size, stride)` → a tensor, checked against the storage.
  func rebuildTensor(_ qualified: String, _ a: [Pickle]) throws -> Pickle {
    guard case .storage(let storage) = a[0] else {
      throw badArguments(qualified, "the storage is \(graph.summary(a[0]))")
    }
    guard case .int(let offset) = a[1], offset >= 0 else {
      throw badArguments(qualified, "the storage offset is not a non-negative integer")
    }
    guard let shape = integers(a[2]), let stride = integers(a[3]) else {
      throw badArguments(qualified, "size and stride must be tuples of non-negative integers")
    }
    guard shape.count == stride.count else {
      throw badArguments(qualified, "size has \(shape.count) dimensions but stride \(stride.count)")
    }
    guard shape.count <= limits.maxDimensions else {
      throw badArguments(qualified, "\(shape.count) dimensions (at most \(limits.maxDimensions))")
    }
    let tensor = TorchTensor(storage: storage, offset: offset, shape: shape, stride: stride)
    if let reason = TensorBounds.check(tensor) { throw badArguments(qualified, reason) }
    return .tensor(tensor)
  }

  func integers(_ v: Pickle) -> [Int]? {
    guard let items = graph.items(v) else { return nil }
    var out: [Int] = []
    for item in items {
      guard case .int(let n) = item, n >= 0 else { return nil }
      out.append(n)
    }
    return out
  }
}

/// The bounds check of a strided view against its storage, in overflow-checked arithmetic.
enum TensorBounds {
  /// nil when every element lies inside the storage; otherwise the reason it does not.
  static func check(_ t: TorchTensor) -> String? {
    // The product of the non-zero sizes must not overflow (then no partial product does).
    var product = 1
    var empty = false
    for s in t.shape {
      if s == 0 {
        empty = true
        continue
      }
      let (p, o) = product.multipliedReportingOverflow(by: s)
      if o { return "size \(t.shape) overflows" }
      product = p
    }
    let (_, bytesOverflow) = product.multipliedReportingOverflow(by: t.dtype.size)
    if bytesOverflow { return "size \(t.shape) overflows" }
    if empty { return nil }
    // The last element: offset + Σ (size − 1) · stride, which must be < the storage's count.
    var last = t.offset
    for (s, st) in zip(t.shape, t.stride) {
      let (step, o1) = (s - 1).multipliedReportingOverflow(by: st)
      let (sum, o2) = last.addingReportingOverflow(step)
      if o1 || o2 { return "size \(t.shape), stride \(t.stride) and offset \(t.offset) overflow" }
      last = sum
    }
    if last >= t.storage.count {
      return
        "size \(t.shape), stride \(t.stride) and offset \(t.offset) reach element \(last) of a storage of \(t.storage.count)"
    }
    return nil
  }
}
