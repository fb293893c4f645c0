import Compute
import VCoSwinCLI

ThreadBudget.restartWithShortBLASSpin()
VCoSwin.runMain()
