"""How fast torchvision's Swin learns the shape classes of the synthetic clips from random frames.

A learnability reference for the image-pretraining figures in Docs/BENCHMARKS.md (Demo):
usage: python3 Benchmarks/shapes_torch.py CONFIG LR [CLIPS_DIR]
CONFIG A = Swin micro (patch 4, embed 32, depths 1,1,2,1, window 4), B = patch 2 embed 48
depths 2,2, C = patch 4 embed 48 depths 2,2. Prints epoch, training loss, val top-1, seconds.
"""
import torch, numpy as np, av, sys
from torchvision.models.swin_transformer import SwinTransformer
torch.manual_seed(0); torch.set_num_threads(1)
root=sys.argv[3] if len(sys.argv)>3 else 'Clips/'
if not root.endswith('/'): root+='/'
def load(lst):
    X=[];Y=[]
    for line in open(root+lst):
        p,l=line.split()
        fr=[f.to_ndarray(format='rgb24') for f in av.open(root+p).decode(video=0)]
        X.append(np.stack(fr).astype(np.float32)/255.); Y.append(int(l))
    X=torch.tensor(np.stack(X)).permute(0,1,4,2,3)  # N,T,3,H,W
    X=(X-torch.tensor([.485,.456,.406]).view(1,1,3,1,1))/torch.tensor([.229,.224,.225]).view(1,1,3,1,1)
    return X, torch.tensor(Y)
Xt,Yt=load('shapes_train.txt'); Xv,Yv=load('shapes_val.txt')
cfg=sys.argv[1]
if cfg=='A': m=SwinTransformer(patch_size=[4,4],embed_dim=32,depths=[1,1,2,1],num_heads=[1,2,4,8],window_size=[4,4],num_classes=6,stochastic_depth_prob=0)
if cfg=='B': m=SwinTransformer(patch_size=[2,2],embed_dim=48,depths=[2,2],num_heads=[2,4],window_size=[4,4],num_classes=6,stochastic_depth_prob=0)
if cfg=='C': m=SwinTransformer(patch_size=[4,4],embed_dim=48,depths=[2,2],num_heads=[2,4],window_size=[4,4],num_classes=6,stochastic_depth_prob=0)
opt=torch.optim.AdamW(m.parameters(),lr=float(sys.argv[2]),weight_decay=0.05)
import time; t0=time.time()
for ep in range(15):
    perm=torch.randperm(len(Xt)); tl=0; m.train()
    for i in range(0,len(Xt),32):
        idx=perm[i:i+32]; t=torch.randint(0,16,(len(idx),))
        x=Xt[idx,t]; loss=torch.nn.functional.cross_entropy(m(x),Yt[idx],label_smoothing=0.1)
        opt.zero_grad(); loss.backward(); opt.step(); tl+=loss.item()*len(idx)
    m.eval()
    with torch.no_grad(): acc=(m(Xv[:,8]).argmax(1)==Yv).float().mean().item()
    print(cfg, ep, round(tl/len(Xt),4), acc, round(time.time()-t0), flush=True)
