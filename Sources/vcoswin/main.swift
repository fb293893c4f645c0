import VCoSwinCLI

VCoSwin.runMain()
