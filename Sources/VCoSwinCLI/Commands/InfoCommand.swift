import ArgumentParser
import Datasets
import Foundation
import Inference
import Models
import Training

/// `vcoswin info`: what a checkpoint holds, for people (`--json` for scripts).
struct InfoCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "info",
    abstract: "Describe a checkpoint: kind, architecture, labels, training, provenance, size.",
    discussion: HelpExamples.protected(
      """
      Takes any checkpoint a command takes (this package's, or a foreign .pth / safetensors \
      state dict, converted in memory). `config` in the JSON output is exactly the object \
      `init --config` and `pretrain --config` take.

      Examples:
        vcoswin info Clips/default-model.safetensors
        vcoswin info runs/video/last.safetensors --json
        vcoswin info swin3d_t-7615ae03.pth
        vcoswin info runs/video/best.safetensors --json | jq .config > arch.json
      """))

  @Argument(help: "The checkpoint.")
  var checkpoint: String

  @Flag(
    help:
      "One JSON object: path, kind, layout, config, parameters, bytes, labels, provenance, data, training."
  )
  var json = false

  @Option(help: ArgumentHelp(labelsOptionHelp + " Shows them in place of the recorded names."))
  var labels: String?

  func run() throws {
    let given = try labels.map(readLabelsNamingFile)
    let opened = try Checkpoint.open(path: checkpoint)
    var info = opened.info
    if let given { try info.replaceLabels(given.names, from: given.file, checkpoint: checkpoint) }
    let bytes = (try? FileManager.default.attributesOfItem(atPath: checkpoint)[.size] as? Int) ?? 0
    let config = try JSONSerialization.jsonObject(with: Data(try info.config.jsonString().utf8))
    let provenance =
      (try? JSONSerialization.jsonObject(with: Data(info.provenance.utf8))) ?? info.provenance
    let data = try DataOptions.recorded(in: opened.file)
    try RunFolder.checkRunState(in: opened.file)
    let training =
      opened.file.metadata["training"].flatMap {
        try? JSONSerialization.jsonObject(with: Data($0.utf8))
      } as? [String: Any]
    var object: [String: Any] = [
      "path": checkpoint, "kind": info.kind, "layout": opened.layout?.rawValue ?? "vcoswin",
      "config": config,
      "parameters": info.config.parameterCount, "bytes": bytes, "labels": info.labels,
      "provenance": provenance,
    ]
    if let data {
      object["data"] = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(data))
    }
    if let training {
      var summary = training
      if let history = training["history"] as? [Any] {
        summary["history"] = nil
        summary["epochs_recorded"] = history.count
        summary["last_epoch"] = history.last
      }
      object["training"] = summary
    }
    if json {
      print(try jsonLine(object))
      return
    }
    let c = info.config
    printHuman(
      "\(checkpoint): \(info.kind) model (\(c.variant.rawValue)\(opened.layout.map { ", \($0.summary) layout" } ?? "")), \(c.parameterCount) parameters, \(bytes) bytes"
    )
    printHuman(
      "  architecture: embed \(c.embedDim), depths \(c.depths), heads \(c.heads), windows \(c.windows), embedding kernel \(c.embedKernel) stride \(c.embedStride)"
    )
    printHuman("  config: \(try c.jsonString())")
    let shown = info.labels.prefix(8).joined(separator: ", ")
    printHuman("  labels (\(info.labels.count)): \(shown)\(info.labels.count > 8 ? ", …" : "")")
    printHuman("  provenance: \(info.provenance)")
    if let data {
      let views = try Views.recorded(in: opened.file).map { "; full protocol \($0.summary)" }
      printHuman("  data: \(data.kind.rawValue), \(data.summary)\(views ?? "")")
    }
    if let training {
      let history = training["history"] as? [[String: Any]] ?? []
      let best = training["best_top1"].map { "\($0)" } ?? "?"
      let last = history.last.map { epoch in
        ", last epoch: "
          + ["epoch", "train_loss", "val_top1", "lr"].compactMap { key in
            epoch[key].map { "\(key) \($0)" }
          }
          .joined(separator: ", ")
      }
      printHuman(
        "  training: \(training["epochs_done"].map { "\($0)" } ?? "?") epochs done, best val top-1 \(best)\(last ?? "")"
      )
    }
  }
}
