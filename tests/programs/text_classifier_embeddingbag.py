"""A bag-of-words text classifier with nn.EmbeddingBag, as in PyTorch's text tutorial.

Exercises: a vocabulary built in Python, a DataLoader with a collate_fn that
packs variable-length token lists into one flat tensor plus offsets
(torch.tensor(...).cumsum(dim=0), torch.cat), nn.EmbeddingBag(mode='mean')
with offsets, nn.CrossEntropyLoss, optim.SGD with clip_grad_norm_,
lr_scheduler.StepLR, argmax accuracy, and predicting new sentences.

The sentences are inline and the parameters come from a fixed formula.
"""
import argparse

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

TRAIN = [
    (0, "the team won the match in the final minute"),
    (0, "a late goal won the cup for the home team"),
    (0, "the coach praised the players after the game"),
    (0, "fans cheered as the striker scored again"),
    (1, "the market fell as shares of the bank dropped"),
    (1, "investors sold stocks after the rate decision"),
    (1, "the company reported higher profits this quarter"),
    (1, "oil prices rose and the market recovered"),
    (2, "the new phone has a faster chip and a better camera"),
    (2, "engineers released an update to the operating system"),
    (2, "the laptop battery lasts longer with the new chip"),
    (2, "researchers built a faster network for the data center"),
]
TEST = [
    (0, "the striker scored and the team won"),
    (1, "shares rose after the profits report"),
    (2, "the update makes the camera faster"),
]


def build_vocab(texts):
    vocab = {"<unk>": 0}
    for text in texts:
        for token in text.split():
            vocab.setdefault(token, len(vocab))
    return vocab


class TextClassificationModel(nn.Module):
    def __init__(self, vocab_size, embed_dim, num_class):
        super(TextClassificationModel, self).__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, mode="mean")
        self.fc = nn.Linear(embed_dim, num_class)

    def forward(self, text, offsets):
        embedded = self.embedding(text, offsets)
        return self.fc(embedded)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--out", required=True, help="where the final parameters go (.npz)")
    args = parser.parse_args()
    torch.manual_seed(7)
    vocab = build_vocab(text for _, text in TRAIN)

    def text_pipeline(x):
        return [vocab.get(token, 0) for token in x.split()]

    def collate_batch(batch):
        label_list, text_list, offsets = [], [], [0]
        for (_label, _text) in batch:
            label_list.append(_label)
            processed_text = torch.tensor(text_pipeline(_text), dtype=torch.int64)
            text_list.append(processed_text)
            offsets.append(processed_text.size(0))
        label_list = torch.tensor(label_list, dtype=torch.int64)
        offsets = torch.tensor(offsets[:-1]).cumsum(dim=0)
        text_list = torch.cat(text_list)
        return label_list, text_list, offsets

    model = TextClassificationModel(len(vocab), 8, 3)
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            n = p.numel()
            p.copy_(((torch.arange(n, dtype=torch.float32) * (0.5772 + 0.09 * i)) % 1.0 - 0.5)
                    .view(p.shape))
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=5.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.9)
    train_loader = DataLoader(TRAIN, batch_size=4, shuffle=False, collate_fn=collate_batch)
    test_loader = DataLoader(TEST, batch_size=4, shuffle=False, collate_fn=collate_batch)

    def evaluate(dataloader):
        model.eval()
        total_acc, total_count = 0, 0
        with torch.no_grad():
            for label, text, offsets in dataloader:
                predicted_label = model(text, offsets)
                total_acc += (predicted_label.argmax(1) == label).sum().item()
                total_count += label.size(0)
        return total_acc / total_count

    for epoch in range(1, args.epochs + 1):
        model.train()
        total_loss = 0.0
        for label, text, offsets in train_loader:
            optimizer.zero_grad()
            predicted_label = model(text, offsets)
            loss = criterion(predicted_label, label)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            total_loss += loss.item()
        scheduler.step()
        print("| epoch {:3d} | loss {:8.5f} | train accuracy {:8.3f} | test accuracy {:8.3f}"
              .format(epoch, total_loss / len(train_loader), evaluate(train_loader),
                      evaluate(test_loader)))

    labels = {0: "Sports", 1: "Business", 2: "Sci/Tec"}
    with torch.no_grad():
        text = torch.tensor(text_pipeline("the chip makes the phone faster"))
        output = model(text, torch.tensor([0]))
        print("This is a %s news" % labels[output.argmax(1).item() ])
    np.savez(args.out, **{k: v.detach().cpu().numpy() for k, v in model.state_dict().items()})


if __name__ == "__main__":
    main()
