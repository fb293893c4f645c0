import VCoSwinCLI
import _Relaunch

restartWithShortBLASSpin()
VCoSwin.runMain()
