import Foundation
import Models

/// The architecture of a new model (`init`, `pretrain`): the preset, or the config JSON file
/// when one is given (the `config` object a checkpoint stores), with a head of `classes`
/// outputs. Also returns how it was chosen, for provenance and messages (`preset nano`,
/// `config arch.json`). Errors name the file.
func modelConfig(preset: String?, file: String?, dims: Int, classes: Int) throws -> (
  ModelConfig, String
) {
  guard let file else {
    let name = preset ?? ""
    return (try ModelConfig.preset(name, dims: dims, classes: classes), "preset \(name)")
  }
  let text = try readTextFile(file, what: "the config file")
  var config: ModelConfig
  do { config = try ModelConfig.fromJSON(text) } catch { throw CommandFailure("\(file): \(error)") }
  config.classes = classes
  do { try config.validate() } catch { throw CommandFailure("\(file): \(error)") }
  return (config, "config \(file)")
}
